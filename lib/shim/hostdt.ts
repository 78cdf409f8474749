import { HclError, isHclError, type HclErrorCode } from '../errors.ts';
import { findNode, findProp, propCells, propReg, propString, propStrings, propU32, propU64 } from '../fdt/index.ts';
import type { Fdt, FdtNode } from '../fdt/index.ts';
import type { Plant } from '../plant.ts';
import { IGVM_MEMORY_TYPE, type Region } from '../abi/index.ts';

/**
 * The host device tree as the shim reads it (openhcl host_fdt_parser rules, reference §1a).
 *
 * Model convention for platform devices the real host passes elsewhere (root-level nodes, 2/2
 * cells, written by lib/host): `serial@<hex>` with compatible "ns16550a" (x86 I/O port in `reg`,
 * COM3 = 0x3e8) or "arm,pl011" (MMIO `reg` = base, 0x1000), optional u32 `current-speed`;
 * aarch64 `intc@<hex>` with compatible "arm,gic-v3" (`reg` = distributor, 0x10000,
 * redistributor, 0x20000 × VPs) or "arm,cortex-a15-gic" (GICv2: distributor, 0x1000, CPU
 * interface, 0x2000). The SLIT travels in the parameter region (see slit.ts), not here.
 */
export interface HostDt {
  bootCpuidPhys: number;
  /** Enabled CPUs in VP order. */
  cpus: Array<{ reg: bigint; vnode: number }>;
  /** Partition memory, sorted by base, non-overlapping. */
  memory: Array<{ base: bigint; size: bigint; vnode: number; igvmType: number }>;
  bootargs: string;
  allocationMode: 'host' | 'vtl2';
  vtl2MemorySize?: bigint;
  vtl2MmioSize?: bigint;
  vtl0AliasMap?: bigint;
  entropy?: Uint8Array;
  keepAlive: string[];
  deviceDmaPages?: bigint;
  vmbusVtl0: HostVmbus;
  vmbusVtl2: HostVmbus;
  serial: Array<{ kind: 'ns16550a' | 'pl011'; base: bigint; speed: number }>;
  gic?: { version: 2 | 3; distributor: bigint; second: bigint };
}

/** One VMBus node: VTL, connection id and MMIO ranges (child = parent address). */
export interface HostVmbus {
  vtl: 0 | 2;
  connectionId: number;
  mmio: Region[];
}

/** Shim limits (openhcl_boot host_params/mod.rs). */
export const SHIM_LIMITS = {
  cpus: 2048, numaNodes: 64, cmdline: 0x2000, vtl2RamRanges: 64, partitionRamRanges: 1024, entropy: 256,
} as const;
/** COM3's x86 I/O port: its presence lets the shim write a console= argument. */
export const COM3_PORT = 0x3e8n;

const PAGE = 0x1000n;

// Runs `fn` and turns a malformed property (FDT_BAD_PROPERTY) into `code` naming the node path.
function at<T>(code: HclErrorCode, path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isHclError(e, 'FDT_BAD_PROPERTY')) throw new HclError(code, `host device tree ${path}: ${e.message}`, { cause: e });
    throw e;
  }
}
function fail(code: HclErrorCode, path: string, why: string): never {
  throw new HclError(code, `host device tree ${path}: ${why}`);
}
function need<T>(v: T | undefined, code: HclErrorCode, path: string, name: string): T {
  if (v === undefined) fail(code, path, `missing property ${name}`);
  return v;
}
const hex = (n: bigint): string => `0x${n.toString(16)}`;

/** Parses a host device tree; every violation is a SHIM_* error naming the node path. `plant`: tests only. */
export function parseHostDt(fdt: Fdt, plant?: Plant): HostDt {
  const root = fdt.root;
  const cpus = parseCpus(root, plant);
  const memory = parseMemory(root);
  const chosen = findNode(root, '/chosen');
  const bootargs = chosen === undefined ? '' : at('SHIM_HOST_DT_INVALID', '/chosen', () => propString(chosen, 'bootargs')) ?? '';
  if (bootargs.length > SHIM_LIMITS.cmdline) fail('SHIM_CMDLINE_TOO_LONG', '/chosen', `bootargs of ${bootargs.length} bytes exceed ${SHIM_LIMITS.cmdline}`);
  const out: HostDt = {
    bootCpuidPhys: fdt.bootCpuidPhys, cpus, memory, bootargs, allocationMode: 'host', keepAlive: [],
    ...parseVmbus(root), serial: [],
  };
  parseOpenhcl(root, out);
  parsePlatform(root, out);
  // boot_cpuid_phys is a 32-bit header field: it holds the low 32 bits of a 64-bit MPIDR (Aff3 is above).
  if (!cpus.some((c) => BigInt.asUintN(32, c.reg) === BigInt(fdt.bootCpuidPhys))) {
    fail('SHIM_CPUS_INVALID', '/cpus', `boot cpu ${hex(BigInt(fdt.bootCpuidPhys))} (boot_cpuid_phys) is not an enabled cpu`);
  }
  checkMmio(out);
  return out;
}

function parseCpus(root: FdtNode, plant: Plant | undefined): HostDt['cpus'] {
  const node = findNode(root, '/cpus') ?? fail('SHIM_CPUS_INVALID', '/cpus', 'node missing');
  const cells = at('SHIM_CPUS_INVALID', '/cpus', () => propU32(node, '#address-cells')) ?? 1;
  if (cells < 1 || cells > 2) fail('SHIM_CPUS_INVALID', '/cpus', `#address-cells ${cells} is not 1 or 2`);
  const cpus: HostDt['cpus'] = [];
  const seen = new Set<bigint>();
  for (const c of node.children) {
    const path = `/cpus/${c.name}`;
    const status = need(at('SHIM_CPUS_INVALID', path, () => propString(c, 'status')), 'SHIM_CPUS_INVALID', path, 'status');
    if (status !== 'okay') continue;
    const reg = need(at('SHIM_CPUS_INVALID', path, () => propCells(c, 'reg', cells)), 'SHIM_CPUS_INVALID', path, 'reg');
    if (reg.length !== 1) fail('SHIM_CPUS_INVALID', path, `reg holds ${reg.length} values, expected one of ${cells} cells`);
    const vnode = need(at('SHIM_CPUS_INVALID', path, () => propU32(c, 'numa-node-id')), 'SHIM_CPUS_INVALID', path, 'numa-node-id');
    if (seen.has(reg[0]!)) fail('SHIM_CPUS_INVALID', path, `reg ${hex(reg[0]!)} is used by an earlier cpu`);
    seen.add(reg[0]!);
    cpus.push({ reg: reg[0]!, vnode: plant === 'shim-ignores-vnode' && vnode === 1 ? 0 : vnode });
    if (cpus.length > SHIM_LIMITS.cpus) fail('SHIM_LIMIT_EXCEEDED', path, `more than ${SHIM_LIMITS.cpus} cpus`);
  }
  if (cpus.length === 0) fail('SHIM_CPUS_INVALID', '/cpus', 'no enabled cpu');
  const nodes = new Set(cpus.map((c) => c.vnode));
  if (nodes.size > SHIM_LIMITS.numaNodes) fail('SHIM_LIMIT_EXCEEDED', '/cpus', `${nodes.size} numa nodes exceed ${SHIM_LIMITS.numaNodes}`);
  return cpus;
}

function parseMemory(root: FdtNode): HostDt['memory'] {
  const memory: HostDt['memory'] = [];
  for (const m of root.children.filter((c) => c.name === 'memory' || c.name.startsWith('memory@'))) {
    const path = `/${m.name}`;
    const reg = need(at('SHIM_MEMORY_INVALID', path, () => propReg(m, 'reg', 2, 2)), 'SHIM_MEMORY_INVALID', path, 'reg');
    const vnode = need(at('SHIM_MEMORY_INVALID', path, () => propU32(m, 'numa-node-id')), 'SHIM_MEMORY_INVALID', path, 'numa-node-id');
    const igvmType = at('SHIM_MEMORY_INVALID', path, () => propU32(m, 'microsoft,igvm-type')) ?? IGVM_MEMORY_TYPE.MEMORY;
    if (igvmType > 3) fail('SHIM_MEMORY_INVALID', path, `microsoft,igvm-type ${igvmType} is not 0..3`);
    for (const { address, size } of reg) {
      if (size === 0n || address % PAGE !== 0n || size % PAGE !== 0n) {
        fail('SHIM_MEMORY_INVALID', path, `range ${hex(address)}+${hex(size)} is empty or not 4K-aligned`);
      }
      memory.push({ base: address, size, vnode, igvmType });
    }
    if (memory.length > SHIM_LIMITS.partitionRamRanges) fail('SHIM_LIMIT_EXCEEDED', path, `more than ${SHIM_LIMITS.partitionRamRanges} memory ranges`);
  }
  if (memory.length === 0) fail('SHIM_MEMORY_INVALID', '/', 'no memory node');
  memory.sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));
  for (let i = 1; i < memory.length; i++) {
    const p = memory[i - 1]!;
    const c = memory[i]!;
    if (p.base + p.size > c.base) {
      fail('SHIM_MEMORY_INVALID', `/memory@${c.base.toString(16)}`, `range ${hex(c.base)}+${hex(c.size)} overlaps ${hex(p.base)}+${hex(p.size)}`);
    }
  }
  return memory;
}

function parseOpenhcl(root: FdtNode, out: HostDt): void {
  const path = '/openhcl';
  const code = 'SHIM_OPENHCL_NODE_INVALID';
  const n = findNode(root, path) ?? fail(code, path, 'node missing');
  const mode = need(at(code, path, () => propString(n, 'memory-allocation-mode')), code, path, 'memory-allocation-mode');
  if (mode !== 'host' && mode !== 'vtl2') fail(code, path, `memory-allocation-mode "${mode}" is not "host" or "vtl2"`);
  out.allocationMode = mode;
  if (mode === 'vtl2') {
    const ms = at(code, path, () => propU64(n, 'memory-size'));
    const mm = at(code, path, () => propU64(n, 'mmio-size'));
    if (ms !== undefined) out.vtl2MemorySize = ms;
    if (mm !== undefined) out.vtl2MmioSize = mm;
  }
  const alias = at(code, path, () => propU64(n, 'vtl0-alias-map'));
  if (alias !== undefined) out.vtl0AliasMap = alias;
  const entropy = findNode(n, 'entropy');
  if (entropy !== undefined) {
    const reg = need(findProp(entropy, 'reg'), code, `${path}/entropy`, 'reg');
    if (reg.value.length > SHIM_LIMITS.entropy) fail('SHIM_LIMIT_EXCEEDED', `${path}/entropy`, `${reg.value.length} bytes of entropy exceed ${SHIM_LIMITS.entropy}`);
    out.entropy = reg.value.slice();
  }
  const keep = findNode(n, 'keep-alive');
  if (keep !== undefined) out.keepAlive = at(code, `${path}/keep-alive`, () => propStrings(keep, 'device-types')) ?? [];
  const dma = findNode(n, 'device-dma');
  if (dma !== undefined) {
    out.deviceDmaPages = need(at(code, `${path}/device-dma`, () => propU64(dma, 'total-pages')), code, `${path}/device-dma`, 'total-pages');
  }
}

function parseVmbus(root: FdtNode): { vmbusVtl0: HostVmbus; vmbusVtl2: HostVmbus } {
  const found: Partial<Record<0 | 2, HostVmbus>> = {};
  const code = 'SHIM_VMBUS_INVALID';
  for (const bus of root.children) {
    const compat = at('SHIM_HOST_DT_INVALID', `/${bus.name}`, () => propStrings(bus, 'compatible')) ?? [];
    const ranges = findProp(bus, 'ranges');
    if (!compat.includes('simple-bus') || ranges === undefined || ranges.value.length !== 0) continue;
    for (const v of bus.children) {
      const path = `/${bus.name}/${v.name}`;
      if (!(at(code, path, () => propStrings(v, 'compatible')) ?? []).includes('microsoft,vmbus')) continue;
      const vtl = need(at(code, path, () => propU32(v, 'microsoft,vtl')), code, path, 'microsoft,vtl');
      if (vtl !== 0 && vtl !== 2) fail(code, path, `microsoft,vtl ${vtl} is not 0 or 2`);
      if (found[vtl] !== undefined) fail(code, path, `second vmbus node for vtl ${vtl}`);
      const ac = at(code, path, () => propU32(v, '#address-cells'));
      const sc = at(code, path, () => propU32(v, '#size-cells'));
      if (ac !== 2 || sc !== 2) fail(code, path, `#address-cells/#size-cells ${ac}/${sc} must be 2/2`);
      const triples = at(code, path, () => propCells(v, 'ranges', 2)) ?? [];
      if (triples.length % 3 !== 0) fail(code, path, `ranges length is not a multiple of 3 u64 values`);
      if (triples.length > 6) fail(code, path, `${triples.length / 3} ranges, at most 2 allowed`);
      const mmio: Region[] = [];
      for (let i = 0; i < triples.length; i += 3) {
        const [child, parent, size] = [triples[i]!, triples[i + 1]!, triples[i + 2]!];
        if (child !== parent) fail(code, path, `range ${i / 3}: child ${hex(child)} differs from parent ${hex(parent)}`);
        if (child % PAGE !== 0n || size % PAGE !== 0n) fail(code, path, `range ${i / 3}: ${hex(child)}+${hex(size)} is not page-aligned`);
        mmio.push({ gpa: child, size });
      }
      const connectionId = need(at(code, path, () => propU32(v, 'microsoft,message-connection-id')), code, path, 'microsoft,message-connection-id');
      found[vtl] = { vtl, connectionId, mmio };
    }
  }
  if (found[0] === undefined) fail(code, '/', 'no vmbus node for vtl 0');
  if (found[2] === undefined) fail(code, '/', 'no vmbus node for vtl 2');
  return { vmbusVtl0: found[0], vmbusVtl2: found[2] };
}

function parsePlatform(root: FdtNode, out: HostDt): void {
  for (const n of root.children) {
    const path = `/${n.name}`;
    const compat = at('SHIM_HOST_DT_INVALID', path, () => propStrings(n, 'compatible')) ?? [];
    if (n.name.startsWith('serial@') && (compat.includes('ns16550a') || compat.includes('arm,pl011'))) {
      const reg = need(at('SHIM_HOST_DT_INVALID', path, () => propReg(n, 'reg', 2, 2)), 'SHIM_HOST_DT_INVALID', path, 'reg');
      const speed = at('SHIM_HOST_DT_INVALID', path, () => propU32(n, 'current-speed')) ?? 115200;
      out.serial.push({ kind: compat.includes('arm,pl011') ? 'pl011' : 'ns16550a', base: reg[0]?.address ?? 0n, speed });
    } else if (n.name.startsWith('intc@') && (compat.includes('arm,gic-v3') || compat.includes('arm,cortex-a15-gic'))) {
      const reg = need(at('SHIM_HOST_DT_INVALID', path, () => propReg(n, 'reg', 2, 2)), 'SHIM_HOST_DT_INVALID', path, 'reg');
      if (reg.length < 2) fail('SHIM_HOST_DT_INVALID', path, `reg holds ${reg.length} ranges, expected 2`);
      out.gic = { version: compat.includes('arm,gic-v3') ? 3 : 2, distributor: reg[0]!.address, second: reg[1]!.address };
    }
  }
}

function checkMmio(h: HostDt): void {
  const overlaps = (a: Region, b: { gpa: bigint; size: bigint }): boolean => a.gpa < b.gpa + b.size && b.gpa < a.gpa + a.size;
  for (const [bus, other] of [[h.vmbusVtl0, h.vmbusVtl2], [h.vmbusVtl2, h.vmbusVtl0]] as const) {
    for (const r of bus.mmio) {
      const ram = h.memory.find((m) => overlaps(r, { gpa: m.base, size: m.size }));
      if (ram !== undefined) fail('SHIM_MMIO_INVALID', `vmbus vtl ${bus.vtl}`, `mmio ${hex(r.gpa)}+${hex(r.size)} overlaps ram ${hex(ram.base)}+${hex(ram.size)}`);
      const o = other.mmio.find((x) => overlaps(r, x));
      if (o !== undefined) fail('SHIM_MMIO_INVALID', `vmbus vtl ${bus.vtl}`, `mmio ${hex(r.gpa)}+${hex(r.size)} overlaps vtl ${other.vtl} mmio ${hex(o.gpa)}+${hex(o.size)}`);
    }
  }
}
