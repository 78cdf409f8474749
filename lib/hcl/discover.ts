import type { Topology, TopoNode, TopoRange, TopoVp } from '../config/index.ts';
import { HclError, isHclError } from '../errors.ts';
import {
  findNode, findProp, propCells, propReg, propString, propStrings, propU32, propU64, readFdt, type FdtNode,
} from '../fdt/index.ts';
import { readText, type ProcFs } from '../abi/index.ts';
import { initEnvFromCmdline, parseHclOptions, splitCmdline, type HclOptions } from './options.ts';

/**
 * openvmm_hcl's discovery (openhcl.md "Stage 2", after OpenHCL's bootloader_fdt_parser): reads
 * only the ProcFs — the shim's DTB at /sys/firmware/fdt, the entropy file, /proc/cmdline — and
 * builds the topology, the partition memory map and the regions the paravisor needs.
 */

/** `openhcl,memory-type` values (MemoryVtlType, openhcl.md "Stage 1c"). */
export const MEMORY_VTL_TYPES = [
  'VTL0', 'VTL2_RAM', 'VTL2_CONFIG', 'VTL2_SIDECAR_IMAGE', 'VTL2_SIDECAR_NODE', 'VTL0_MMIO', 'VTL2_MMIO',
  'VTL2_RESERVED', 'VTL2_GPA_POOL', 'VTL2_TDX_PAGE_TABLES', 'VTL2_BOOTSHIM_LOG_BUFFER',
  'VTL2_PERSISTED_STATE_HEADER', 'VTL2_PERSISTED_STATE_PROTOBUF',
] as const;
/** A memory VTL type by name; its numeric value is its position in `MEMORY_VTL_TYPES`. */
export type MemoryVtlType = (typeof MEMORY_VTL_TYPES)[number];

/** One entry of the partition memory map (a /openhcl/memory@ child). MMIO has no vnode or igvm type. */
export interface PartitionMemoryEntry {
  range: TopoRange;
  vtlType: MemoryVtlType;
  vnode?: number;
  igvmType?: number;
}

/** Isolation as the shim reports it in /openhcl `isolation-type`. */
export type IsolationType = 'none' | 'vbs' | 'snp' | 'tdx' | 'cca';

/** /openhcl `memory-allocation-mode`, with the vtl2 mode's optional sizes. */
export type MemoryAllocationMode = { mode: 'host' } | { mode: 'vtl2'; memorySize?: number; mmioSize?: number };

/**
 * One sidecar node under /bus. The DT gives the control and shared pages; the base VP and VP
 * count come from `boot_cpus=` (base VPs in node order) when it lists exactly one VP per node.
 */
export interface SidecarNodeInfo {
  controlPage: number;
  shmem: TopoRange;
  baseVp?: number;
  vpCount?: number;
}

/** Everything openvmm_hcl learns at boot. */
export interface Discovered {
  topology: Topology;
  isolation: IsolationType;
  memoryAllocationMode: MemoryAllocationMode;
  vtl0AliasMap?: number;
  vtl2Ram: Array<TopoRange & { vnode: number }>;
  /** The whole partition memory map, sorted by base. */
  partitionMemoryMap: PartitionMemoryEntry[];
  configRanges: TopoRange[];
  reservedRange?: TopoRange;
  gpaPool: TopoRange[];
  persistedRegion: { header: TopoRange; payload: TopoRange };
  acceptedRanges: TopoRange[];
  sidecar: SidecarNodeInfo[];
  /** FDT header `boot_cpuid_phys`. */
  bootCpuidPhys: number;
  entropy: Uint8Array;
  cmdline: string;
  options: HclOptions;
  /** Set by the pipeline from the openvmm_hcl build that runs; never from the device tree. */
  usermodeVersion?: string;
}

/** The sysfs file holding the DTB the kernel booted with. */
export const FDT_PATH = '/sys/firmware/fdt';
/** The procfs file holding the entropy the host passed. */
export const ENTROPY_PATH = '/proc/device-tree/openhcl/entropy/reg';

function invalid(path: string, why: string, cause?: unknown): HclError {
  return new HclError('HCL_DISCOVERY_INVALID', `discovery: ${path}: ${why}`, { cause, context: { path } });
}

// A node path, or a function building it only for an error message (2048 cpu nodes a boot).
type NodePath = string | (() => string);
const pathText = (p: NodePath): string => (typeof p === 'string' ? p : p());

/** Runs an accessor, turning its HclError into HCL_DISCOVERY_INVALID naming `path`. */
function at<T>(path: NodePath, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (isHclError(e)) throw invalid(pathText(path), e.message, e);
    throw e;
  }
}

const join = (path: string, name: string): string => (path === '/' ? `/${name}` : `${path}/${name}`);

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function num(path: NodePath, what: string, v: bigint): number {
  if (v > MAX_SAFE) throw invalid(pathText(path), `${what} 0x${v.toString(16)} is beyond 2^53`);
  return Number(v);
}

function reqU32(node: FdtNode, path: NodePath, name: string): number {
  const v = at(path, () => propU32(node, name));
  if (v === undefined) throw invalid(pathText(path), `missing property ${name}`);
  return v;
}

function reqString(node: FdtNode, path: string, name: string): string {
  const v = at(path, () => propString(node, name));
  if (v === undefined) throw invalid(path, `missing property ${name}`);
  return v;
}

function optU64(node: FdtNode, path: string, name: string): number | undefined {
  const v = at(path, () => propU64(node, name));
  return v === undefined ? undefined : num(path, name, v);
}

/** A node's #address-cells/#size-cells for its children, with the model's default of 2/2. */
function cellsOf(node: FdtNode, path: string): { a: number; s: number } {
  return { a: at(path, () => propU32(node, '#address-cells')) ?? 2, s: at(path, () => propU32(node, '#size-cells')) ?? 2 };
}

function ranges(node: FdtNode, path: string, cells: { a: number; s: number }): TopoRange[] {
  const reg = at(path, () => propReg(node, 'reg', cells.a, cells.s));
  if (reg === undefined || reg.length === 0) throw invalid(path, 'missing property reg');
  return reg.map((r) => ({ base: num(path, 'reg address', r.address), size: num(path, 'reg size', r.size) }));
}

const unitAddress = (name: string): number => Number.parseInt(name.slice(name.indexOf('@') + 1), 16);

function child(root: FdtNode, path: string): FdtNode {
  const n = findNode(root, path);
  if (n === undefined) throw invalid(path, 'node not found');
  return n;
}

function discoverCpus(root: FdtNode): { arch: Topology['arch']; vps: TopoVp[] } {
  const cpus = child(root, '/cpus');
  const cells = at('/cpus', () => propU32(cpus, '#address-cells'));
  if (cells !== 1 && cells !== 2) throw invalid('/cpus', `#address-cells ${cells ?? '(absent)'}: expected 1 (x86_64) or 2 (aarch64)`);
  const nodes = cpus.children
    .filter((c) => c.name.startsWith('cpu@'))
    .map((c) => ({ node: c, n: unitAddress(c.name), path: () => join('/cpus', c.name) }));
  for (const c of nodes) if (!Number.isSafeInteger(c.n)) throw invalid(c.path(), 'unit address is not hex');
  nodes.sort((x, y) => x.n - y.n);
  const vps = nodes.map((c, index): TopoVp => {
    const prev = nodes[index - 1];
    if (prev !== undefined && prev.n === c.n) throw invalid(c.path(), 'duplicate cpu unit address');
    const reg = at(c.path, () => propCells(c.node, 'reg', cells));
    if (reg === undefined || reg.length !== 1 || reg[0] === undefined) throw invalid(c.path(), `reg: expected one ${cells}-cell value`);
    return { index, reg: num(c.path, 'reg', reg[0]), vnode: reqU32(c.node, c.path, 'numa-node-id') };
  });
  if (vps.length === 0) throw invalid('/cpus', 'no cpu@ nodes');
  return { arch: cells === 1 ? 'x86_64' : 'aarch64', vps };
}

function discoverVtl2Ram(root: FdtNode): Array<TopoRange & { vnode: number }> {
  const cells = cellsOf(root, '/');
  const out = root.children
    .filter((c) => c.name.startsWith('memory@'))
    .flatMap((c) => {
      const path = join('/', c.name);
      const type = reqString(c, path, 'device_type');
      if (type !== 'memory') throw invalid(path, `device_type "${type}": expected "memory"`);
      const vnode = reqU32(c, path, 'numa-node-id');
      return ranges(c, path, cells).map((r) => ({ ...r, vnode }));
    });
  if (out.length === 0) throw invalid('/', 'no memory@ nodes (VTL2 RAM)');
  return out.sort((a, b) => a.base - b.base);
}

function partitionEntries(openhcl: FdtNode, cells: { a: number; s: number }): PartitionMemoryEntry[] {
  const out: PartitionMemoryEntry[] = [];
  for (const c of openhcl.children.filter((x) => x.name.startsWith('memory@'))) {
    const path = join('/openhcl', c.name);
    const code = reqU32(c, path, 'openhcl,memory-type');
    const vtlType = MEMORY_VTL_TYPES[code];
    if (vtlType === undefined) throw invalid(path, `openhcl,memory-type ${code} is not a known type`);
    const vnode = at(path, () => propU32(c, 'numa-node-id'));
    const igvmType = at(path, () => propU32(c, 'microsoft,igvm-type'));
    if (vtlType === 'VTL0' && vnode === undefined) throw invalid(path, 'missing property numa-node-id');
    for (const range of ranges(c, path, cells)) {
      out.push({ range, vtlType, ...(vnode === undefined ? {} : { vnode }), ...(igvmType === undefined ? {} : { igvmType }) });
    }
  }
  return out.sort((a, b) => a.range.base - b.range.base);
}

function exactlyOne(map: PartitionMemoryEntry[], type: MemoryVtlType): TopoRange {
  const hits = map.filter((e) => e.vtlType === type);
  const first = hits[0];
  if (hits.length !== 1 || first === undefined) throw invalid('/openhcl', `expected exactly one ${type} range, found ${hits.length}`);
  return first.range;
}

function nodesOf(map: PartitionMemoryEntry[]): TopoNode[] {
  const byVnode = new Map<number, TopoRange[]>();
  for (const e of map) {
    if (e.vtlType !== 'VTL0' || e.vnode === undefined) continue;
    byVnode.set(e.vnode, [...(byVnode.get(e.vnode) ?? []), e.range]);
  }
  return [...byVnode].sort(([a], [b]) => a - b).map(([vnode, memory]) => ({ vnode, memory }));
}

function discoverSidecar(root: FdtNode, cmdline: string, vpCount: number): SidecarNodeInfo[] {
  const bus = findNode(root, '/bus');
  if (bus === undefined) return [];
  const cells = cellsOf(bus, '/bus');
  const nodes = bus.children
    .filter((c) => (at(join('/bus', c.name), () => propStrings(c, 'compatible')) ?? []).includes('microsoft,openhcl-sidecar'))
    .map((c): SidecarNodeInfo => {
      const path = join('/bus', c.name);
      const [ctrl, shmem, ...rest] = ranges(c, path, cells);
      if (ctrl === undefined || shmem === undefined || rest.length > 0) throw invalid(path, 'reg: expected [ctrl, shmem] ranges');
      return { controlPage: ctrl.base, shmem };
    });
  const bootCpus = splitCmdline(cmdline).filter((w) => w.key === 'boot_cpus').at(-1)?.value;
  const bases = bootCpus === undefined ? [] : bootCpus.split(',').map(Number);
  // Nodes cover the VPs in order, so each node runs from its base VP to the next node's.
  const ends = [...bases.slice(1), vpCount];
  const ok = bases.every((b, i) => Number.isSafeInteger(b) && b < (ends[i] ?? 0));
  if (!ok || bases.length !== nodes.length) return nodes;
  return nodes.map((n, i) => ({ ...n, baseVp: bases[i] ?? 0, vpCount: (ends[i] ?? 0) - (bases[i] ?? 0) }));
}

function allocationMode(openhcl: FdtNode): MemoryAllocationMode {
  const mode = reqString(openhcl, '/openhcl', 'memory-allocation-mode');
  if (mode === 'host') return { mode };
  if (mode !== 'vtl2') throw invalid('/openhcl', `memory-allocation-mode "${mode}": expected "host" or "vtl2"`);
  const memorySize = optU64(openhcl, '/openhcl', 'memory-size');
  const mmioSize = optU64(openhcl, '/openhcl', 'mmio-size');
  return { mode, ...(memorySize === undefined ? {} : { memorySize }), ...(mmioSize === undefined ? {} : { mmioSize }) };
}

const ISOLATION: readonly IsolationType[] = ['none', 'vbs', 'snp', 'tdx', 'cca'];

/**
 * Discovers everything from the kernel's ProcFs. `env` is init's environment beyond what the
 * kernel derives from /proc/cmdline (it wins over command-line words). Any missing or malformed
 * node or file is HCL_DISCOVERY_INVALID naming its path.
 */
export function discover(fs: ProcFs, env: Record<string, string>): Discovered {
  const fdt = at(FDT_PATH, () => readFdt(fs.read(FDT_PATH)));
  const root = fdt.root;
  const cmdline = at('/proc/cmdline', () => readText(fs, '/proc/cmdline')).replace(/\n$/, '');
  const entropy = fs.exists(ENTROPY_PATH) ? fs.read(ENTROPY_PATH).slice() : new Uint8Array(0);
  const options = parseHclOptions({ ...initEnvFromCmdline(cmdline), ...env });

  const openhcl = child(root, '/openhcl');
  const isolation = reqString(openhcl, '/openhcl', 'isolation-type') as IsolationType;
  if (!ISOLATION.includes(isolation)) throw invalid('/openhcl', `isolation-type "${isolation}" is not one of ${ISOLATION.join(', ')}`);
  const ocells = findProp(openhcl, '#address-cells') === undefined ? { a: 2, s: 2 } : cellsOf(openhcl, '/openhcl');
  const map = partitionEntries(openhcl, ocells);
  const acceptedRanges = openhcl.children
    .filter((c) => c.name.startsWith('accepted-memory@'))
    .flatMap((c) => ranges(c, join('/openhcl', c.name), ocells))
    .sort((a, b) => a.base - b.base);
  const of = (t: MemoryVtlType): TopoRange[] => map.filter((e) => e.vtlType === t).map((e) => e.range);
  const reserved = of('VTL2_RESERVED');
  if (reserved.length > 1) throw invalid('/openhcl', `expected at most one VTL2_RESERVED range, found ${reserved.length}`);
  const vtl0AliasMap = optU64(openhcl, '/openhcl', 'vtl0-alias-map');

  const { arch, vps } = discoverCpus(root);
  const vtl2Ram = discoverVtl2Ram(root);
  const topology: Topology = { arch, vps, nodes: nodesOf(map), vtl0Mmio: of('VTL0_MMIO'), vtl2Mmio: of('VTL2_MMIO'), vtl2Ram };
  return {
    topology,
    isolation,
    memoryAllocationMode: allocationMode(openhcl),
    ...(vtl0AliasMap === undefined ? {} : { vtl0AliasMap }),
    vtl2Ram,
    partitionMemoryMap: map,
    configRanges: of('VTL2_CONFIG'),
    ...(reserved[0] === undefined ? {} : { reservedRange: reserved[0] }),
    gpaPool: of('VTL2_GPA_POOL'),
    persistedRegion: { header: exactlyOne(map, 'VTL2_PERSISTED_STATE_HEADER'), payload: exactlyOne(map, 'VTL2_PERSISTED_STATE_PROTOBUF') },
    acceptedRanges,
    sidecar: discoverSidecar(root, cmdline, vps.length),
    bootCpuidPhys: fdt.bootCpuidPhys,
    entropy,
    cmdline,
    options,
  };
}
