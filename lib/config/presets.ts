import { sha256Hex } from '../bytes/index.ts';
import { HclError } from '../errors.ts';
import type { Static } from '@sinclair/typebox';
import type { ChannelKindSchema, VmConfig } from './schema.ts';
import { AARCH64_RAM_BASE } from './rules.ts';

type ChannelKind = Static<typeof ChannelKindSchema>;
type Serial = VmConfig['devices']['serial'][number]['port'];

const MIB = 0x10_0000;
const GIB = 0x4000_0000;
const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/** x86_64 low MMIO gap below 4 GiB; RAM that would fall into it continues at 4 GiB. */
const X86_LOW_GAP = { base: 0xe000_0000, size: 0x2000_0000 };
/** qemu `-M virt` PCIe MMIO windows (low, high) and platform devices. */
const VIRT_LOW_MMIO = { base: 0x1000_0000, size: 0x2eff_0000 };
const VIRT_HIGH_MMIO = { base: 0x80_0000_0000, size: 0x80_0000_0000 };
const VIRT_PLATFORM = { gicVersion: 3, gicDistributor: 0x0800_0000, gicRedistributor: 0x080a_0000, uart: 0x0900_0000 } as const;

/** What distinguishes one preset; `build` turns it into a whole VmConfig. */
interface PresetSpec {
  name: string;
  arch: VmConfig['arch'];
  isolation: VmConfig['isolation'];
  nodes: number;
  vpsPerNode: number;
  nodeRam: number;
  vtl2Size: number;
  sidecar: VmConfig['sidecar'];
  keepAlive: boolean;
  /** APIC ID / MPIDR of the `k`-th VP of node `n`. */
  reg: (n: number, k: number, index: number) => number;
  /** Distance between distinct nodes; absent = no `distances` (firmware default 20). */
  distance?: (i: number, j: number) => number;
  nvme: number;
  serial: Serial[];
  channels: ChannelKind[];
}

/** Lays the nodes' RAM out from `start`, skipping `gap`; returns each node's ranges and the end. */
function layRam(spec: PresetSpec, start: number, gap?: { base: number; size: number }): { numa: VmConfig['numa']; end: number } {
  let at = start;
  const numa = Array.from({ length: spec.nodes }, () => {
    const memory: Array<{ base: number; size: number }> = [];
    let left = spec.nodeRam;
    while (left > 0) {
      if (gap !== undefined && at >= gap.base && at < gap.base + gap.size) at = gap.base + gap.size;
      const room = gap !== undefined && at < gap.base ? gap.base - at : left;
      const size = Math.min(left, room);
      memory.push({ base: at, size });
      at += size;
      left -= size;
    }
    return { memory };
  });
  return { numa, end: at };
}

/** A stable UUID-shaped id derived from `seed`, so presets are deterministic. */
function uuid(seed: string): string {
  const h = sha256Hex(new TextEncoder().encode(seed));
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function build(s: PresetSpec): VmConfig {
  const x86 = s.arch === 'x86_64';
  const ram = x86 ? layRam(s, 0, X86_LOW_GAP) : layRam(s, AARCH64_RAM_BASE);
  const vtl2Base = alignUp(ram.end, 2 * MIB);
  const highBase = alignUp(Math.max(vtl2Base + s.vtl2Size, 4 * GIB), GIB);
  const vps = s.nodes * s.vpsPerNode;
  const seed = (what: string): Uint8Array => new TextEncoder().encode(`${s.name}/${what}`);
  const config: VmConfig = {
    name: s.name,
    arch: s.arch,
    isolation: s.isolation,
    vps: Array.from({ length: vps }, (_, i) => ({ reg: s.reg(Math.floor(i / s.vpsPerNode), i % s.vpsPerNode, i), vnode: Math.floor(i / s.vpsPerNode) })),
    numa: ram.numa,
    vtl2: { mode: 'host', base: vtl2Base, size: s.vtl2Size, vnode: 0 },
    mmio: { vtl0: x86 ? [{ ...X86_LOW_GAP }, { base: highBase, size: 64 * GIB }] : [{ ...VIRT_LOW_MMIO }, { ...VIRT_HIGH_MMIO }] },
    vmbus: { vtl0ConnectionId: 0x4, vtl2ConnectionId: 0x80_0074 },
    devices: {
      nvme: Array.from({ length: s.nvme }, (_, i) => ({
        id: `nvme${i}`,
        ioQueues: Math.min(vps, 2048),
        queueDepth: vps > 256 ? 1024 : 256,
        namespaces: Array.from({ length: i === 0 ? 2 : 1 }, (_, j) => ({ nsid: j + 1, blocks: 0x20_0000 << j, blockSize: j === 0 ? 4096 : 512 })),
      })),
      serial: s.serial.map((port) => ({ port, baud: 115_200 })),
      channels: s.channels.map((kind, i) => ({ kind, instanceId: uuid(`${s.name}/${kind}/${i}`) })),
    },
    cmdline: { static: 'panic=-1 reboot=triple', policy: 'append-chosen', host: 'loglevel=4 OPENHCL_WAIT_FOR_START=0' },
    sidecar: s.sidecar,
    keepAlive: { nvme: s.keepAlive },
    entropy: sha256Hex(seed('entropy/0')) + sha256Hex(seed('entropy/1')),
  };
  const distance = s.distance;
  if (distance !== undefined) {
    config.distances = Array.from({ length: s.nodes }, (_, i) => Array.from({ length: s.nodes }, (_, j) => (i === j ? 10 : distance(i, j))));
  }
  if (!x86) config.aarch64 = { ...VIRT_PLATFORM };
  return config;
}

const SPECS: Record<string, PresetSpec> = {
  small: {
    name: 'small', arch: 'x86_64', isolation: 'none', nodes: 1, vpsPerNode: 4, nodeRam: 2 * GIB, vtl2Size: 128 * MIB,
    sidecar: 'off', keepAlive: false, reg: (_n, _k, i) => i, nvme: 1, serial: ['com1', 'com3'],
    channels: ['storvsc', 'netvsc', 'hvsock'],
  },
  numa: {
    // APIC IDs leave a gap between nodes, as sockets do on real hosts.
    name: 'numa', arch: 'x86_64', isolation: 'none', nodes: 4, vpsPerNode: 16, nodeRam: 4 * GIB, vtl2Size: 256 * MIB,
    sidecar: 'on', keepAlive: true, reg: (n, k) => n * 32 + k, distance: (i, j) => (i >> 1 === j >> 1 ? 16 : 32),
    nvme: 2, serial: ['com1', 'com2', 'com3'], channels: ['storvsc', 'storvsc', 'netvsc', 'netvsc', 'hvsock', 'vpci'],
  },
  large: {
    name: 'large', arch: 'x86_64', isolation: 'none', nodes: 64, vpsPerNode: 32, nodeRam: 2 * GIB, vtl2Size: 512 * MIB,
    sidecar: 'on', keepAlive: true, reg: (_n, _k, i) => i, distance: (i, j) => (i >> 3 === j >> 3 ? 12 : 32),
    nvme: 4, serial: ['com1', 'com3'],
    channels: ['storvsc', 'storvsc', 'storvsc', 'storvsc', 'netvsc', 'netvsc', 'netvsc', 'netvsc', 'hvsock', 'vpci', 'keyboard', 'framebuffer'],
  },
  'arm64-virt': {
    // MPIDR as qemu -M virt (GICv3) gives cpu i: Aff1 = i / 16, Aff0 = i % 16; any other value
    // makes PSCI CPU_ON fail when the kernel DTB boots there (hclckpt kernel check).
    name: 'arm64-virt', arch: 'aarch64', isolation: 'none', nodes: 2, vpsPerNode: 4, nodeRam: 256 * MIB, vtl2Size: 64 * MIB,
    sidecar: 'off', keepAlive: false, reg: (_n, _k, i) => (i >> 4) * 0x100 + (i & 15), distance: () => 20,
    nvme: 1, serial: ['com1', 'com3'], channels: ['storvsc', 'netvsc', 'hvsock'],
  },
  snp: {
    name: 'snp', arch: 'x86_64', isolation: 'snp', nodes: 2, vpsPerNode: 8, nodeRam: 2 * GIB, vtl2Size: 128 * MIB,
    sidecar: 'off', keepAlive: false, reg: (_n, _k, i) => i, distance: () => 21,
    nvme: 1, serial: ['com1'], channels: ['storvsc', 'netvsc'],
  },
};

/** The preset names, in the order `init --help` lists them. */
export const PRESETS = Object.keys(SPECS) as ReadonlyArray<string>;

/** A fresh copy of the named preset; PRESET_UNKNOWN lists the names when there is none. */
export function presetConfig(name: string): VmConfig {
  const spec = Object.hasOwn(SPECS, name) ? SPECS[name] : undefined;
  if (spec === undefined) throw new HclError('PRESET_UNKNOWN', `preset ${JSON.stringify(name)}: unknown; presets are ${PRESETS.join(', ')}`);
  return build(spec);
}
