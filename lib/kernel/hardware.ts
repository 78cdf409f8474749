import { HclError } from '../errors.ts';
import { findProp, propCells, propIs, propString, propU32 } from '../fdt/index.ts';
import type { Fdt, FdtNode } from '../fdt/index.ts';

/** One CPU Linux can use: logical number (Linux's CPU id), position among /cpus nodes, reg, NUMA node. */
export interface KernelCpu {
  cpu: number;
  /** Index among all /cpus nodes of device_type "cpu" (the VP index in OpenHCL's layout). */
  vp: number;
  reg: bigint;
  node: number;
}

/** One RAM range from a memory node. */
export interface KernelMemory {
  base: bigint;
  size: bigint;
  node: number;
}

/** What the kernel takes from the device tree: CPUs, RAM and the NUMA layout. */
export interface KernelHardware {
  arch: 'x86_64' | 'aarch64';
  cpus: KernelCpu[];
  memory: KernelMemory[];
  /** NUMA nodes in use, sorted (node_possible_map = node_online_map here). */
  nodes: number[];
  /** distance(a, b) for any two nodes. */
  distance: (a: number, b: number) => number;
  /** True when the NUMA description was unusable and Linux fell back to one node (dummy_numa_init). */
  numaFallback: boolean;
}

const decoder = new TextDecoder();
const LOCAL_DISTANCE = 10;
const REMOTE_DISTANCE = 20;

const isCpu = (n: FdtNode): boolean => propIs(n, 'device_type', 'cpu');
// Most nodes say "okay": only another value is decoded.
const status = (n: FdtNode): string => (findProp(n, 'status') === undefined || propIs(n, 'status', 'okay') ? 'okay' : propString(n, 'status') ?? 'okay');

function cells(node: FdtNode, name: string, fallback: number): number {
  return propU32(node, name) ?? fallback;
}

// Callers check that `n` cells fit from `at`.
function readCells(v: Uint8Array, at: number, n: number): bigint {
  let x = 0n;
  for (let i = 0, o = at; i < n; i++, o += 4) {
    x = (x << 32n) | BigInt(((v[o]! << 24) | (v[o + 1]! << 16) | (v[o + 2]! << 8) | v[o + 3]!) >>> 0);
  }
  return x;
}

/** Architecture as the tree shows it: arm64 CPUs carry enable-method or an "arm," compatible. */
export function detectArch(root: FdtNode): 'x86_64' | 'aarch64' {
  const cpus = root.children.find((c) => c.name === 'cpus')?.children.filter(isCpu) ?? [];
  const arm = cpus.some((c) => findProp(c, 'enable-method') !== undefined || (propString(c, 'compatible') ?? '').startsWith('arm,'));
  return arm || root.children.some((c) => c.name === 'psci') ? 'aarch64' : 'x86_64';
}

/**
 * The CPUs Linux brings up from /cpus, numbered in node order. x86 (OpenHCL's DT CPU
 * enumeration) takes status "okay" nodes. arm64 6.1 skips only "fail"/"fail-…" nodes: a
 * "disabled" CPU is still started through PSCI (checked on a real 6.1 boot).
 */
function parseCpus(root: FdtNode, arch: 'x86_64' | 'aarch64'): Array<Omit<KernelCpu, 'node'> & { nid: number | undefined }> {
  const cpusNode = root.children.find((c) => c.name === 'cpus');
  if (cpusNode === undefined) throw new HclError('KERNEL_BOOT_FAILED', 'kernel: device tree has no /cpus node');
  const addressCells = cells(cpusNode, '#address-cells', 1);
  const out: Array<Omit<KernelCpu, 'node'> & { nid: number | undefined }> = [];
  cpusNode.children.filter(isCpu).forEach((n, vp) => {
    const s = status(n);
    const usable = arch === 'x86_64' ? s === 'okay' || s === 'ok' : !s.startsWith('fail');
    if (!usable) return;
    const reg = findProp(n, 'reg');
    if (reg === undefined || reg.value.length < addressCells * 4) {
      throw new HclError('KERNEL_BOOT_FAILED', `kernel: /cpus/${n.name} has no usable reg`);
    }
    out.push({ cpu: out.length, vp, reg: readCells(reg.value, 0, addressCells), nid: propU32(n, 'numa-node-id') });
  });
  if (out.length === 0) throw new HclError('KERNEL_BOOT_FAILED', 'kernel: no usable cpu node under /cpus');
  return out;
}

function walk(node: FdtNode, visit: (n: FdtNode) => void): void {
  visit(node);
  for (const c of node.children) walk(c, visit);
}

/** RAM from root-level memory nodes (early_init_dt_scan_memory), with their numa-node-id. */
function parseMemory(root: FdtNode): Array<{ base: bigint; size: bigint; nid: number | undefined }> {
  const ac = cells(root, '#address-cells', 1);
  const sc = cells(root, '#size-cells', 1);
  const out: Array<{ base: bigint; size: bigint; nid: number | undefined }> = [];
  for (const n of root.children) {
    if (propString(n, 'device_type') !== 'memory' || !['okay', 'ok'].includes(status(n))) continue;
    const reg = findProp(n, 'linux,usable-memory') ?? findProp(n, 'reg');
    if (reg === undefined) continue;
    const w = (ac + sc) * 4;
    for (let at = 0; at + w <= reg.value.length; at += w) {
      const size = readCells(reg.value, at + ac * 4, sc);
      if (size > 0n) out.push({ base: readCells(reg.value, at, ac), size, nid: propU32(n, 'numa-node-id') });
    }
  }
  if (out.length === 0) throw new HclError('KERNEL_BOOT_FAILED', 'kernel: device tree has no memory');
  return out.sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));
}

// distance(a, b) by a then b: node ids are u32, so a pair does not fit one safe-integer key, and a
// string key per lookup cost more than the lookup (a 64-node /sys build asks 4096 times).
type DistanceTable = Map<number, Map<number, number>>;

function setDistance(t: DistanceTable, a: number, b: number, d: number): void {
  let row = t.get(a);
  if (row === undefined) t.set(a, (row = new Map()));
  row.set(b, d);
}

/** The distance-map-v1 matrix (found by compatible anywhere), or undefined when it is invalid. */
function parseDistances(root: FdtNode): DistanceTable | undefined {
  let map: FdtNode | undefined;
  walk(root, (n) => {
    if (map === undefined && compatibles(n).includes('numa-distance-map-v1')) map = n;
  });
  const out: DistanceTable = new Map();
  if (map === undefined) return out;
  const m = propCells(map, 'distance-matrix', 1);
  if (m === undefined || m.length === 0) return undefined;
  for (let i = 0; i + 2 < m.length; i += 3) {
    const [a, b, d] = [Number(m[i]), Number(m[i + 1]), Number(m[i + 2])];
    if ((a === b && d !== LOCAL_DISTANCE) || (a !== b && d <= LOCAL_DISTANCE)) return undefined;
    if (d > 255) continue; // numa_set_distance refuses values that do not fit its u8 table
    setDistance(out, a, b, d);
    if (b > a) setDistance(out, b, a, d);
  }
  return out;
}

// Tolerant: a malformed compatible elsewhere in the tree must not stop the boot.
function compatibles(n: FdtNode): string[] {
  const v = findProp(n, 'compatible')?.value;
  if (v === undefined || v.length === 0) return [];
  return decoder.decode(v).split('\0');
}

/**
 * Reads CPUs, RAM and NUMA from the tree as Linux 6.1 (drivers/of/of_numa.c, arch_numa.c) does.
 * When the NUMA description is unusable (a memory range without numa-node-id, a bad distance
 * matrix, no node ids at all), Linux falls back to a single node 0 holding every CPU and all RAM.
 */
export function readHardware(fdt: Fdt, arch: 'x86_64' | 'aarch64' = detectArch(fdt.root)): KernelHardware {
  const cpus = parseCpus(fdt.root, arch);
  const memory = parseMemory(fdt.root);
  const distances = parseDistances(fdt.root);
  const parsed = new Set<number>();
  for (const c of cpus) if (c.nid !== undefined) parsed.add(c.nid);
  for (const m of memory) if (m.nid !== undefined) parsed.add(m.nid);
  const fallback = parsed.size === 0 || memory.some((m) => m.nid === undefined) || distances === undefined;
  const nodes = fallback ? [0] : [...parsed].sort((a, b) => a - b);
  const table: DistanceTable = fallback ? new Map() : distances;
  return {
    arch,
    cpus: cpus.map((c) => ({ cpu: c.cpu, vp: c.vp, reg: c.reg, node: fallback || c.nid === undefined ? 0 : c.nid })),
    memory: memory.map((m) => ({ base: m.base, size: m.size, node: fallback ? 0 : m.nid! })),
    nodes,
    distance: (a, b) => table.get(a)?.get(b) ?? (a === b ? LOCAL_DISTANCE : REMOTE_DISTANCE),
    numaFallback: fallback,
  };
}
