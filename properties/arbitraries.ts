import fc from 'fast-check';
import { HOST_VTL2_MMIO_SIZE, bootsCvmPackage, vnodeAt, vtl2RamOf, type VmConfig } from '../lib/config/index.ts';
import { SHIM_LIMITS } from '../lib/shim/index.ts';
import type { Fdt, FdtNode } from '../lib/fdt/index.ts';

/**
 * fast-check arbitraries for hclckpt: VM configurations that are valid by construction (every
 * one passes `validateConfig`), overrides that keep or change the topology, and workloads.
 * Sizes are biased: most cases are small, some reach the limits (2048 VPs, 64 nodes).
 */

const PAGE = 4096;

/** fc.record with ordinary prototypes, so values deep-equal and clone like parsed JSON. */
const rec = <T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> => fc.record(model, { noNullPrototype: true });
const MIB = 0x10_0000;

/** Options for `arbVmConfig`. */
export interface ArbVmConfigOptions {
  /** Upper bound on VPs (default 2048, the shim's limit). */
  maxVps?: number;
  /** Fix the architecture; default both. */
  arch?: VmConfig['arch'];
}

/** A count in [1, max], mostly small: weights favour the first bands. */
export function arbCount(max: number): fc.Arbitrary<number> {
  const bands: Array<[number, number, number]> = [[1, 8, 10], [9, 64, 4], [65, 300, 2], [301, 2048, 1]];
  const arbs = bands
    .filter(([lo]) => lo <= max)
    .map(([lo, hi, weight]) => ({ weight, arbitrary: fc.integer({ min: lo, max: Math.min(hi, max) }) }));
  return fc.oneof(...arbs);
}

/** A page-multiple size: mostly up to 4 MiB, sometimes up to 4 GiB. */
const arbPages = (smallMax: number, bigMax: number): fc.Arbitrary<number> =>
  fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: 1, max: smallMax }) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: bigMax }) },
  ).map((p) => p * PAGE);

/** Unique registers per VP: x86 APIC IDs (below 255 unless x2APIC), aarch64 MPIDR affinities. */
function arbRegs(arch: VmConfig['arch'], n: number): fc.Arbitrary<number[]> {
  if (arch === 'x86_64') {
    const maxStride = n > 255 ? 4 : Math.max(1, Math.floor(255 / n));
    return rec({ stride: fc.integer({ min: 1, max: maxStride }), offset: fc.nat(n > 255 ? 1000 : 254) }).map(({ stride, offset }) => {
      const off = n > 255 ? offset : Math.min(offset, 254 - (n - 1) * stride);
      return Array.from({ length: n }, (_, i) => off + i * stride);
    });
  }
  // Aff0 counts within a cluster, Aff1/Aff2 count clusters; Aff3 (bits 32-39) is sometimes set.
  return rec({ perCluster: fc.integer({ min: 1, max: 16 }), aff3: fc.constantFrom(0, 1) }).map(({ perCluster, aff3 }) =>
    Array.from({ length: n }, (_, i) => {
      const cluster = Math.floor(i / perCluster);
      return aff3 * 2 ** 32 + (Math.floor(cluster / 256) << 16) + ((cluster % 256) << 8) + (i % perCluster);
    }),
  );
}

function arbVnodes(vps: number, nodes: number): fc.Arbitrary<number[]> {
  const blocks = fc.constant(Array.from({ length: vps }, (_, i) => Math.floor((i * nodes) / vps)));
  const scattered = fc.array(fc.nat(nodes - 1), { minLength: vps, maxLength: vps });
  return fc.oneof(blocks, scattered);
}

/** A symmetric SLIT matrix: 10 on the diagonal, 11–254 elsewhere. */
function arbDistances(nodes: number): fc.Arbitrary<number[][]> {
  const upper = fc.array(fc.integer({ min: 11, max: 254 }), { minLength: (nodes * (nodes - 1)) / 2, maxLength: (nodes * (nodes - 1)) / 2 });
  return upper.map((u) => {
    const m = Array.from({ length: nodes }, (_, i) => Array.from({ length: nodes }, (_, j) => (i === j ? 10 : 0)));
    let k = 0;
    for (let i = 0; i < nodes; i++) {
      for (let j = i + 1; j < nodes; j++) {
        const v = u[k++] ?? 20;
        (m[i] as number[])[j] = v;
        (m[j] as number[])[i] = v;
      }
    }
    return m;
  });
}

/** Command-line words that are harmless to the shim and openvmm_hcl but awkward to parse. */
const arbWord: fc.Arbitrary<string> = fc.oneof(
  fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/),
  fc.stringMatching(/^[a-z]{1,6}\.[a-z_]{1,8}=[0-9]{1,4}$/),
  fc.tuple(fc.stringMatching(/^HCLTEST_[A-Z0-9_]{1,6}$/), fc.stringMatching(/^[A-Za-z0-9,:/_-]{0,10}$/)).map(([k, v]) => `${k}=${v}`),
  fc.tuple(fc.stringMatching(/^HCLTEST_[A-Z]{1,6}$/), fc.stringMatching(/^[A-Za-z0-9 =,.-]{0,12}$/)).map(([k, v]) => `${k}="${v}"`),
  fc.stringMatching(/^"[a-z ]{1,10}"$/),
  fc.constantFrom('quiet', 'panic=-1', 'x=é', 'k=v=w', 'a==b', '--'),
);

/** A kernel command line of 0–12 awkward words, separated by one or more spaces. */
export const arbCmdline: fc.Arbitrary<string> = fc
  .array(fc.tuple(arbWord, fc.constantFrom(' ', ' ', '  ')), { maxLength: 12 })
  .map((ws) => ws.map(([w, s]) => w + s).join('').trim());

const arbHex = (maxBytes: number): fc.Arbitrary<string> =>
  fc.uint8Array({ maxLength: maxBytes }).map((b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(''));

/** Entropy: usually short, sometimes the full 256 bytes. */
export const arbEntropy: fc.Arbitrary<string> = fc.oneof({ weight: 4, arbitrary: arbHex(32) }, { weight: 1, arbitrary: arbHex(256) });

const arbDevices: fc.Arbitrary<VmConfig['devices']> = rec({
  nvme: fc.array(
    rec({
      ioQueues: fc.integer({ min: 1, max: 64 }),
      queueDepth: fc.integer({ min: 2, max: 1024 }),
      namespaces: fc.uniqueArray(
        rec({ nsid: fc.integer({ min: 1, max: 0xffff_fffe }), blocks: fc.integer({ min: 1, max: 2 ** 40 }), blockSize: fc.constantFrom(512 as const, 4096 as const) }),
        { minLength: 1, maxLength: 4, selector: (ns) => ns.nsid },
      ),
    }),
    { maxLength: 4 },
  ).map((list) => list.map((d, i) => ({ id: `nvme${i}`, ...d }))),
  serial: fc.shuffledSubarray(['com1', 'com2', 'com3', 'com4'] as const).chain((ports) =>
    fc.tuple(...ports.map((port) => fc.integer({ min: 50, max: 3_000_000 }).map((baud) => ({ port, baud })))),
  ),
  channels: fc.uniqueArray(
    rec({ kind: fc.constantFrom('storvsc', 'netvsc', 'hvsock', 'keyboard', 'framebuffer', 'vpci' as const), instanceId: fc.uuid().map((u) => u.toLowerCase()) }),
    { maxLength: 8, selector: (c) => c.instanceId },
  ),
});

interface Shape {
  arch: VmConfig['arch'];
  vps: number;
  nodes: number;
  vtl2Mode: VmConfig['vtl2']['mode'];
}

/** RAM laid node after node from `start`; each node 1–3 ranges with page gaps between them. */
function arbNuma(shape: Shape, start: number): fc.Arbitrary<VmConfig['numa']> {
  // In vtl2 mode the 64 MiB image lies inside one RAM range and every node gives a share, so
  // ranges start at 64 MiB there; smaller ones would send nearly every config back to host mode.
  const minPages = shape.vtl2Mode === 'vtl2' ? (64 * MIB) / 4096 : 1024;
  const range = rec({ gap: fc.oneof(fc.constant(0), arbPages(256, 1 << 18)), size: arbPages(minPages, 1 << 20) });
  return fc.array(fc.array(range, { minLength: 1, maxLength: 3 }), { minLength: shape.nodes, maxLength: shape.nodes }).map((nodes) => {
    let at = start;
    return nodes.map((ranges) => ({
      memory: ranges.map(({ gap, size }) => {
        at += gap;
        const r = { base: at, size };
        at += size;
        return r;
      }),
    }));
  });
}

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/** Everything above RAM: VTL0 low MMIO, VTL2 RAM, VTL0 high MMIO, optional host VTL2 MMIO. */
function arbAboveRam(ramEnd: number, nodes: number, vtl2Mode: VmConfig['vtl2']['mode']) {
  return rec({
    lowMmio: arbPages(1 << 15, 1 << 18),
    vtl2Size: fc.integer({ min: 64, max: 512 }).map((m) => m * MIB),
    vtl2Mode: fc.constant(vtl2Mode),
    vtl2Vnode: fc.nat(nodes - 1),
    highMmio: fc.integer({ min: 512, max: 64 * 1024 }).map((m) => m * MIB),
    vtl2Mmio: fc.option(fc.array(fc.integer({ min: 1, max: 1024 }).map((m) => m * MIB), { minLength: 1, maxLength: 2 }), { nil: undefined }),
  }).map((a) => {
    const low = { base: alignUp(ramEnd, 1 << 30), size: a.lowMmio };
    const vtl2Base = alignUp(low.base + low.size, 2 * MIB);
    // At or above 4 GiB: where a vtl2-mode shim carves VTL2 MMIO from (mmio.rs).
    const high = { base: Math.max(2 ** 32, alignUp(vtl2Base + a.vtl2Size, 1 << 30)), size: a.highMmio };
    let at = high.base + high.size;
    const vtl2 = a.vtl2Mmio?.map((size) => {
      const r = { base: at, size };
      at += size;
      return r;
    });
    return {
      vtl2: { mode: a.vtl2Mode, base: vtl2Base, size: a.vtl2Size, vnode: a.vtl2Vnode },
      mmio: vtl2 === undefined ? { vtl0: [low, high] } : { vtl0: [low, high], vtl2 },
    };
  });
}

/**
 * Valid VmConfigs by construction: x86_64 and aarch64, 1–2048 VPs over 1–64 nodes, 4K-aligned
 * sorted RAM with gaps, VTL2 and MMIO above RAM, isolation per architecture, devices, awkward
 * command lines. Most cases are small; some are large.
 */
export function arbVmConfig(opts: ArbVmConfigOptions = {}): fc.Arbitrary<VmConfig> {
  const maxVps = Math.max(1, Math.min(2048, opts.maxVps ?? 2048));
  const shape: fc.Arbitrary<Shape> = fc
    .record({
      arch: opts.arch === undefined ? fc.constantFrom('x86_64' as const, 'aarch64' as const) : fc.constant(opts.arch),
      vps: arbCount(maxVps),
      nodes: arbCount(64),
      vtl2Mode: fc.constantFrom('host' as const, 'vtl2' as const),
    })
    .map((s) => ({ ...s, nodes: Math.min(s.nodes, 64) }));
  return shape.chain((s) => {
    const ramStart = s.arch === 'x86_64' ? 0 : 0x4000_0000;
    return fc
      .record({
        name: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,15}$/),
        isolation: s.arch === 'x86_64' ? fc.constantFrom('none' as const, 'vbs' as const, 'snp' as const, 'tdx' as const) : fc.constantFrom('none' as const, 'vbs' as const),
        regs: arbRegs(s.arch, s.vps),
        vnodes: arbVnodes(s.vps, s.nodes),
        numa: arbNuma(s, ramStart),
        distances: fc.option(arbDistances(s.nodes), { nil: undefined }),
        vmbus: rec({ vtl0ConnectionId: fc.nat(0xffff_ffff), vtl2ConnectionId: fc.nat(0xffff_ffff) }),
        devices: arbDevices,
        cmdline: rec({ static: arbCmdline, policy: fc.constantFrom('static' as const, 'append-chosen' as const), host: arbCmdline }),
        sidecar: fc.constantFrom('on' as const, 'off' as const, 'log' as const),
        keepAlive: rec({ nvme: fc.boolean() }),
        entropy: arbEntropy,
      })
      .chain((c) => {
        const ramEnd = Math.max(...c.numa.flatMap((n) => n.memory.map((r) => r.base + r.size)));
        return arbAboveRam(ramEnd, s.nodes, s.vtl2Mode).map((above): VmConfig => {
          const { regs, vnodes, distances, ...rest } = c;
          const config: VmConfig = {
            ...rest,
            arch: s.arch,
            vps: regs.map((reg, i) => ({ reg, vnode: vnodes[i] ?? 0 })),
            ...above,
          };
          if (distances !== undefined) config.distances = distances;
          if (s.arch === 'aarch64') {
            // GICv3 redistributors take 0x20000 per VP; past ~120 VPs they would reach the UART.
            config.aarch64 = { gicVersion: 3, gicDistributor: 0x0800_0000, gicRedistributor: s.vps <= 120 ? 0x080a_0000 : 0x1000_0000, uart: 0x0900_0000 };
          }
          return config.vtl2.mode === 'vtl2' ? vtl2ModeOrHost(config) : config;
        });
      });
  });
}

/**
 * vtl2 allocation mode loads the image inside RAM (allocate_vtl2_ram): move it to the top of
 * the largest RAM range (2 MiB aligned), and drop host VTL2 MMIO under OpenVMM's mmio-size (the shim carves
 * instead). Where the range cannot hold the image or a node cannot give its share, the config
 * stays in host mode.
 */
function vtl2ModeOrHost(c: VmConfig): VmConfig {
  // Small nodes cannot give an even share of a large memory-size; smaller sizes keep vtl2 mode
  // common in the generated configs instead of falling back to host mode most of the time.
  for (const size of [c.vtl2.size, ...VTL2_MODE_SIZES.filter((s) => s < c.vtl2.size)]) {
    const moved = vtl2ModeWith(c, size);
    if (moved !== undefined) return moved;
  }
  return { ...c, vtl2: { ...c.vtl2, mode: 'host' } };
}

// Fallback memory-sizes for vtl2 mode, largest first; the release image measures 64 MiB.
const MIN_RELOCATION_BASE = 128 * MIB;
const VTL2_MODE_SIZES = [256 * MIB, 128 * MIB, 64 * MIB];

function vtl2ModeWith(c: VmConfig, size: number): VmConfig | undefined {
  const largest = c.numa.flatMap((n) => n.memory).reduce((a, b) => (b.size > a.size ? b : a));
  // The loader relocates the image in 2 MiB steps (its relocation alignment), so the top is rounded down.
  const base = Math.floor((largest.base + largest.size - size) / (2 * MIB)) * 2 * MIB;
  // The release package relocates VTL2 only at or above 128 MiB (its relocation window); the CVM
  // package is built at the config's base and does not relocate.
  if (base < largest.base || (!bootsCvmPackage(c) && base < MIN_RELOCATION_BASE)) return undefined;
  const moved: VmConfig = { ...c, vtl2: { ...c.vtl2, size, base, vnode: vnodeAt(c, base)! } };
  if ((c.mmio.vtl2 ?? []).reduce((n, r) => n + r.size, 0) < HOST_VTL2_MMIO_SIZE) moved.mmio = { vtl0: c.mmio.vtl0 };
  try {
    // openhcl_boot host_params/mod.rs MAX_VTL2_RAM_RANGES: a carve cut into more ranges (many
    // nodes, each a piece) does not boot, so such a config stays in host mode here.
    return vtl2RamOf(moved).length <= SHIM_LIMITS.vtl2RamRanges ? moved : undefined;
  } catch {
    return undefined;
  }
}

/** One typed override on a config path (the shape `applyOverrides` records). */
export interface PathOverride {
  path: string;
  value: unknown;
}

/** An override that servicing must accept: command lines, policy, sidecar, keep-alive, entropy. */
export function arbPreservingOverride(config: VmConfig): fc.Arbitrary<PathOverride> {
  void config;
  return fc.oneof(
    arbCmdline.map((value) => ({ path: 'cmdline.host', value })),
    arbCmdline.map((value) => ({ path: 'cmdline.static', value })),
    fc.constantFrom('static', 'append-chosen').map((value) => ({ path: 'cmdline.policy', value })),
    fc.constantFrom('on', 'off', 'log').map((value) => ({ path: 'sidecar', value })),
    fc.boolean().map((value) => ({ path: 'keepAlive.nvme', value })),
    arbEntropy.map((value) => ({ path: 'entropy', value })),
  );
}

/**
 * An override that changes the topology the host offers on restore: the VP count, one VP's vnode
 * or reg, a VTL0 RAM range's size or placement, a VTL0 MMIO range, VTL2 RAM's size or vnode.
 * Every value differs from the config's current one; the result may or may not pass `validateConfig`.
 */
export function arbTopologyChangingOverride(config: VmConfig): fc.Arbitrary<PathOverride> {
  const vpIndex = fc.nat(config.vps.length - 1);
  const nodeIndex = fc.nat(config.numa.length - 1);
  const options: Array<fc.Arbitrary<PathOverride>> = [
    fc.constant({ path: 'vps', value: [...config.vps, { reg: Math.max(...config.vps.map((v) => v.reg)) + 1, vnode: 0 }] }),
    vpIndex.map((i) => ({ path: `vps[${i}].reg`, value: Math.max(...config.vps.map((v) => v.reg)) + 1 })),
    nodeIndex.chain((n) => {
      const mem = config.numa[n]?.memory ?? [];
      return fc.nat(mem.length - 1).chain((i) =>
        fc.oneof(
          fc.constant({ path: `numa[${n}].memory[${i}].size`, value: (mem[i]?.size ?? PAGE) + PAGE }),
          fc.constant({ path: `numa[${n}].memory[${i}].base`, value: (mem[i]?.base ?? 0) + PAGE }),
        ),
      );
    }),
    fc.nat(1).map((i) => ({ path: `mmio.vtl0[${i}].size`, value: (config.mmio.vtl0[i]?.size ?? 0) - PAGE })),
    fc.constant({ path: 'vtl2.size', value: config.vtl2.size + 0x20_0000 }),
  ];
  if (config.numa.length > 1) options.push(fc.constant({ path: 'vtl2.vnode', value: (config.vtl2.vnode + 1) % config.numa.length }));
  if (config.numa.length > 1) {
    options.push(vpIndex.map((i) => ({ path: `vps[${i}].vnode`, value: ((config.vps[i]?.vnode ?? 0) + 1) % config.numa.length })));
  }
  if (config.vps.length > 1) options.push(fc.constant({ path: 'vps', value: config.vps.slice(0, -1) }));
  return fc.oneof(...options);
}

/** A workload: a seed for the deterministic driver and a number of steps (mostly few). */
export function arbWorkload(): fc.Arbitrary<{ seed: number; steps: number }> {
  return rec({ seed: fc.nat(0xffff_ffff), steps: fc.oneof({ weight: 4, arbitrary: fc.nat(20) }, { weight: 1, arbitrary: fc.nat(500) }) });
}

// ---- codec inputs ----

const fdtName = fc.stringMatching(/^[a-z][a-z0-9,._+-]{0,7}$/);
const fdtProps = fc.uniqueArray(rec({ name: fdtName, value: fc.uint8Array({ maxLength: 24 }) }), { maxLength: 5, selector: (p) => p.name });
const fdtTree: fc.Memo<FdtNode> = fc.memo((depth) =>
  rec({
    name: fc.tuple(fdtName, fc.option(fc.nat(0xffff), { nil: undefined })).map(([n, u]) => (u === undefined ? n : `${n}@${u.toString(16)}`)),
    properties: fdtProps,
    children: depth <= 1 ? fc.constant([]) : fc.uniqueArray(fdtTree(depth - 1), { maxLength: 3, selector: (c) => c.name }),
  }),
);

/** Valid device trees: a root with nested uniquely named children, raw property bytes, reservations. */
export function arbFdt(): fc.Arbitrary<Fdt> {
  return rec({
    bootCpuidPhys: fc.nat(0xffff_ffff),
    reservations: fc.array(rec({ address: fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }), size: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }), { maxLength: 3 }),
    root: rec({ properties: fdtProps, children: fc.uniqueArray(fdtTree(3), { maxLength: 4, selector: (c) => c.name }) }).map((r) => ({ name: '', ...r })),
  });
}

/**
 * Values of the canonical msgpack data model (lib/state/codec.ts): null, booleans, safe
 * integers and finite doubles, strings, 64-bit bigints beyond 2^53, byte buffers, arrays and
 * plain objects.
 */
export function arbCanonicalValue(): fc.Arbitrary<unknown> {
  const leaf = fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.maxSafeInteger(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
    fc.string({ maxLength: 20 }),
    fc.oneof(fc.bigInt({ min: 1n << 53n, max: (1n << 64n) - 1n }), fc.bigInt({ min: -(1n << 63n), max: -(1n << 53n) })),
    fc.uint8Array({ maxLength: 32 }),
  );
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__'), tie('value'), { maxKeys: 4, noNullPrototype: true }),
    ),
  }));
  return value;
}
