import type { Topology, TopoRange } from '../config/index.ts';
import { HclError } from '../errors.ts';

/**
 * vm_topology's invariants (openhcl.md "Stage 2"), checked on a Topology, and a readable
 * difference between two topologies. x2APIC is not in the Topology, so the model infers it: an
 * x86_64 VM with more than 255 VPs must use x2APIC; with 255 or fewer every APIC ID is below 255.
 */

const PAGE = 4096;
const XAPIC_LIMIT = 255;

const hex = (n: number): string => `0x${n.toString(16)}`;
const show = (r: TopoRange): string => `[${hex(r.base)}, ${hex(r.base + r.size)})`;

/** True when the model treats the topology as using x2APIC (x86_64 with more than 255 VPs). */
export function usesX2apic(t: Topology): boolean {
  return t.arch === 'x86_64' && t.vps.length > XAPIC_LIMIT;
}

function checkVps(t: Topology, out: string[]): void {
  if (t.vps.length === 0) out.push('vps: no VPs (at least one is required)');
  const seen = new Map<number, number>();
  t.vps.forEach((vp, i) => {
    if (vp.index !== i) out.push(`vps[${i}]: index ${vp.index}, expected ${i} (VP indices are contiguous from 0)`);
    if (t.arch === 'x86_64' && !usesX2apic(t) && vp.reg >= XAPIC_LIMIT) {
      out.push(`vps[${i}]: APIC ID ${vp.reg} is not below ${XAPIC_LIMIT} without x2APIC`);
    }
    const prev = seen.get(vp.reg);
    if (prev !== undefined) out.push(`vps[${i}]: reg ${hex(vp.reg)} is also VP ${prev}'s`);
    else seen.set(vp.reg, i);
  });
}

function checkNodes(t: Topology, out: string[]): void {
  let prevVnode = -1;
  t.nodes.forEach((node, n) => {
    if (node.vnode <= prevVnode) out.push(`nodes[${n}]: vnode ${node.vnode} is not above the previous node's ${prevVnode}`);
    prevVnode = node.vnode;
    const total = node.memory.reduce((s, r) => s + r.size, 0);
    if (total === 0) out.push(`nodes[${n}]: vnode ${node.vnode} has no memory`);
    node.memory.forEach((r, i) => {
      if (r.base % PAGE !== 0 || r.size % PAGE !== 0) out.push(`nodes[${n}].memory[${i}]: ${show(r)} is not 4K-aligned`);
      const prev = node.memory[i - 1];
      if (prev !== undefined && r.base < prev.base) out.push(`nodes[${n}].memory[${i}]: ${show(r)} is below the previous range`);
    });
  });
}

/** Every named range of the topology, for the emptiness and overlap checks. */
function namedRanges(t: Topology): Array<{ name: string; range: TopoRange }> {
  return [
    ...t.nodes.flatMap((node, n) => node.memory.map((range, i) => ({ name: `nodes[${n}].memory[${i}]`, range }))),
    ...t.vtl2Ram.map((range, i) => ({ name: `vtl2Ram[${i}]`, range })),
    ...t.vtl0Mmio.map((range, i) => ({ name: `vtl0Mmio[${i}]`, range })),
    ...t.vtl2Mmio.map((range, i) => ({ name: `vtl2Mmio[${i}]`, range })),
  ];
}

function checkRanges(t: Topology, out: string[]): void {
  const all = namedRanges(t);
  for (const { name, range } of all) if (range.size <= 0) out.push(`${name}: empty range at ${hex(range.base)}`);
  const sorted = all.filter((x) => x.range.size > 0).sort((a, b) => a.range.base - b.range.base);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1];
    const b = sorted[i];
    if (a !== undefined && b !== undefined && b.range.base < a.range.base + a.range.size) {
      out.push(`${b.name}: ${show(b.range)} overlaps ${a.name} ${show(a.range)}`);
    }
  }
  // VTL2 RAM need not lie above VTL0 RAM: in vtl2 allocation mode the shim carves it out of the
  // host's RAM (allocate_vtl2_ram), so only the overlap check above applies.
  t.vtl2Ram.forEach((r, i) => {
    if (r.base % PAGE !== 0 || r.size % PAGE !== 0) out.push(`vtl2Ram[${i}]: ${show(r)} is not 4K-aligned`);
  });
}

/**
 * Every violation of the topology invariants, as readable lines (empty when valid). When the
 * partition RAM is given (the partition memory map's RAM entries), VTL2 RAM must lie inside it.
 */
export function topologyViolations(t: Topology, partitionRam?: readonly TopoRange[]): string[] {
  const out: string[] = [];
  checkVps(t, out);
  checkNodes(t, out);
  checkRanges(t, out);
  if (partitionRam !== undefined) {
    t.vtl2Ram.forEach((r, i) => {
      const inside = partitionRam.some((p) => r.base >= p.base && r.base + r.size <= p.base + p.size);
      if (!inside) out.push(`vtl2Ram[${i}]: ${show(r)} is not inside partition RAM`);
    });
  }
  return out;
}

/** Throws HCL_TOPOLOGY_INVALID listing every violation; see `topologyViolations`. */
export function checkTopology(t: Topology, partitionRam?: readonly TopoRange[]): void {
  const violations = topologyViolations(t, partitionRam);
  if (violations.length > 0) {
    throw new HclError('HCL_TOPOLOGY_INVALID', `topology: ${violations.length} invariant violation(s): ${violations.join('; ')}`, {
      context: { violations },
    });
  }
}

const ADDRESS_KEYS = new Set(['base', 'size', 'reg']);

function fmt(v: unknown, key: string | number | undefined): string {
  if (typeof v === 'number' && typeof key === 'string' && ADDRESS_KEYS.has(key)) return hex(v);
  if (v === undefined) return '(absent)';
  return JSON.stringify(v);
}

// The path is a stack of segments joined only for a difference: equal topologies (every
// restore's check) then build no strings, which at 2048 VPs was most of the comparison.
function diffInto(a: unknown, b: unknown, path: string[], key: string | number | undefined, out: string[]): void {
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) out.push(`${path.join('')}.length: ${a.length} → ${b.length}`);
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      path.push(`[${i}]`);
      diffInto(a[i], b[i], path, i, out);
      path.pop();
    }
    return;
  }
  const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (isObj(a) && isObj(b)) {
    const keys = Object.keys(a);
    for (const k of Object.keys(b)) if (!Object.hasOwn(a, k)) keys.push(k);
    keys.sort();
    for (const k of keys) {
      path.push(path.length === 0 ? k : `.${k}`);
      diffInto(a[k], b[k], path, k, out);
      path.pop();
    }
    return;
  }
  if (!Object.is(a, b)) out.push(`${path.join('')}: ${fmt(a, key)} → ${fmt(b, key)}`);
}

/**
 * Human-readable differences between two topologies, one line per differing leaf as
 * `path: a → b` (addresses in hex); empty when they are equal.
 */
export function compareTopology(a: Topology, b: Topology): string[] {
  const out: string[] = [];
  diffInto(a, b, [], undefined, out);
  return out;
}
