import { HclError } from '../errors.ts';

/** A RAM range with its vnode, in bytes. */
export interface NodeRange {
  gpa: bigint;
  size: bigint;
  vnode: number;
}

/** Eight pages: one byte of the lower-VTL permission bitmap, the grain VTL2 RAM is carved in. */
const GRANULE = 0x8000n;
const hex = (n: bigint): string => `0x${n.toString(16)}`;
const fail = (why: string): never => { throw new HclError('SHIM_VTL2_MEMORY_INVALID', `vtl2 memory: ${why}`); };

/**
 * VTL2 RAM in vtl2 allocation mode, as openhcl_boot host_params/dt `allocate_vtl2_ram` carves
 * it: the loaded image (which must lie in host RAM) counts first; max(`memory-size`, image) is
 * split evenly over the vnodes, each share rounded up to 8 pages, and the rest of each node's
 * share is taken top-down from that node's RAM. `memory` is sorted by base; result sorted too.
 */
export function allocateVtl2Ram(memory: readonly NodeRange[], image: { gpa: bigint; size: bigint }, memorySize: bigint | undefined): NodeRange[] {
  if (memorySize !== undefined && memorySize < image.size) fail(`memory-size ${hex(memorySize)} is smaller than the image (${hex(image.size)})`);
  const nodeCount = new Set(memory.map((m) => m.vnode)).size;
  if (nodeCount === 0) fail('the host gives no RAM to carve from');
  // memory_per_node is indexed by vnode, so the vnodes must be 0..count-1 (else the real shim panics).
  const stray = memory.find((m) => m.vnode >= nodeCount);
  if (stray !== undefined) fail(`ram ${hex(stray.gpa)} has vnode ${stray.vnode}, but only ${nodeCount} nodes exist`);
  const total = memorySize ?? image.size;
  const perNode = roundUp(total / BigInt(nodeCount), GRANULE);
  const want = new Array<bigint>(nodeCount).fill(perNode);

  // The image's RAM is already VTL2's; what remains of each host range is the free list.
  const imageEnd = image.gpa + image.size;
  const vtl2: NodeRange[] = [];
  const free: NodeRange[] = [];
  let covered = 0n;
  for (const m of memory) {
    const end = m.gpa + m.size;
    const lo = m.gpa > image.gpa ? m.gpa : image.gpa;
    const hi = end < imageEnd ? end : imageEnd;
    if (lo >= hi) { free.push({ ...m }); continue; }
    vtl2.push({ gpa: lo, size: hi - lo, vnode: m.vnode });
    covered += hi - lo;
    if (m.gpa < lo) free.push({ gpa: m.gpa, size: lo - m.gpa, vnode: m.vnode });
    if (hi < end) free.push({ gpa: hi, size: end - hi, vnode: m.vnode });
  }
  if (covered !== image.size) fail(`image ${hex(image.gpa)}+${hex(image.size)} is not inside host RAM`);
  // A piece larger than its node's share zeroes the share (the real shim only warns).
  for (const v of vtl2) want[v.vnode] = v.size > want[v.vnode]! ? 0n : want[v.vnode]! - v.size;

  want.forEach((need, node) => {
    for (let i = free.length - 1; i >= 0 && need > 0n; i--) {
      const f = free[i]!;
      if (f.vnode !== node || f.size === 0n) continue;
      const take = f.size < need ? f.size : need;
      const end = f.gpa + f.size;
      // Round the start down so what VTL0 keeps ends on an 8-page boundary (up to 7 pages more).
      const start = (end - take) & ~(GRANULE - 1n);
      const offset = start > f.gpa ? start - f.gpa : 0n;
      vtl2.push({ gpa: f.gpa + offset, size: f.size - offset, vnode: node });
      need = need > f.size - offset ? need - (f.size - offset) : 0n;
      f.size = offset;
    }
    if (need > 0n) fail(`cannot carve ${hex(need)} more bytes for vnode ${node}: no RAM left on that node`);
  });
  return vtl2.sort((a, b) => (a.gpa < b.gpa ? -1 : 1));
}

/** `ram` minus the VTL2 ranges: what VTL0 keeps, in `ram`'s order. */
export function subtractVtl2(ram: readonly NodeRange[], vtl2: readonly NodeRange[]): NodeRange[] {
  let out = ram.map((r) => ({ ...r }));
  for (const v of vtl2) {
    const vEnd = v.gpa + v.size;
    out = out.flatMap((r) => {
      const end = r.gpa + r.size;
      if (vEnd <= r.gpa || end <= v.gpa) return [r];
      const keep: NodeRange[] = [];
      if (r.gpa < v.gpa) keep.push({ ...r, size: v.gpa - r.gpa });
      if (vEnd < end) keep.push({ ...r, gpa: vEnd, size: end - vEnd });
      return keep;
    });
  }
  return out;
}

function roundUp(n: bigint, to: bigint): bigint {
  return ((n + to - 1n) / to) * to;
}
