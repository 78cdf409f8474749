import type { Plant } from '../plant.ts';
import type { Region } from '../abi/index.ts';

/**
 * The sidecar split (openhcl_boot sidecar.rs): which CPUs boot Linux and which start in
 * sidecar, and where each sidecar node's memory lives.
 */
export interface SidecarNodePlan {
  baseVp: number;
  vpCount: number;
  vnode: number;
  /** (1 + 13 × vpCount) pages: control page, 2 shared + 11 private pages per VP. */
  memory: Region;
}

/** A sidecar plan, or the reason sidecar is off. */
export type SidecarPlan =
  | { active: true; nodes: SidecarNodePlan[]; bootCpus: number[]; logging: boolean }
  | { active: false; reason: string };

/** Inputs of the split. */
export interface SidecarInputs {
  arch: 'x86_64' | 'aarch64';
  isolated: boolean;
  hasImage: boolean;
  mode: 'on' | 'off' | 'log';
  /** vnode of each VP, by VP index. */
  vpVnodes: number[];
  /** Free VTL2 memory per range, with its vnode; allocations are cut from each range's top. */
  free: Array<Region & { vnode: number }>;
  /** On servicing restore: CPUs that had outstanding I/O or mapped interrupts (start in Linux). */
  restoreLinuxCpus?: number[];
  restoring: boolean;
  /** A defect a test plants (lib/plant.ts); never set in production. */
  plant?: Plant | undefined;
}

/** Sidecar nodes hold at most this many CPUs before a run is split. */
export const SIDECAR_MAX_NODE_CPUS = 32;
/** Above this many CPUs sidecar is disabled on servicing restore. */
export const SIDECAR_RESTORE_MAX_CPUS = 400;
const PAGE = 0x1000n;

/** Pages of VTL2 memory one sidecar node of `cpus` CPUs needs. */
export function sidecarNodePages(cpus: number): number {
  return 1 + 13 * cpus;
}

/** Splits runs of same-vnode consecutive VPs into chunks of ceil(len / ceil(len/32)), last takes the rest. */
export function splitRuns(vpVnodes: number[]): Array<{ baseVp: number; vpCount: number; vnode: number }> {
  const out: Array<{ baseVp: number; vpCount: number; vnode: number }> = [];
  let start = 0;
  for (let i = 1; i <= vpVnodes.length; i++) {
    if (i < vpVnodes.length && vpVnodes[i] === vpVnodes[start]) continue;
    const len = i - start;
    const chunk = Math.ceil(len / Math.ceil(len / SIDECAR_MAX_NODE_CPUS));
    for (let at = start; at < i; at += chunk) out.push({ baseVp: at, vpCount: Math.min(chunk, i - at), vnode: vpVnodes[start]! });
    start = i;
  }
  return out;
}

/** Decides the sidecar plan; never throws — every skip condition gives a reason. */
export function planSidecar(i: SidecarInputs): SidecarPlan {
  const off = (reason: string): SidecarPlan => ({ active: false, reason });
  if (i.arch !== 'x86_64') return off('not x86_64');
  if (i.isolated) return off('isolated partition');
  if (!i.hasImage) return off('no sidecar image');
  if (i.mode === 'off') return off('OPENHCL_SIDECAR=off');
  if (i.restoring && i.vpVnodes.length > SIDECAR_RESTORE_MAX_CPUS) return off(`restore with ${i.vpVnodes.length} cpus (> ${SIDECAR_RESTORE_MAX_CPUS})`);
  const big = i.vpVnodes.findIndex((v) => v >= 64);
  if (big >= 0) return off(`vp ${big} has vnode ${i.vpVnodes[big]} (>= 64)`);
  const chunks = splitRuns(i.vpVnodes);
  if (chunks.every((c) => c.vpCount === 1)) return off('every sidecar node would have one cpu');
  const free = i.free.map((f) => ({ ...f })).sort((a, b) => a.vnode - b.vnode || (a.gpa < b.gpa ? -1 : 1));
  const nodes: SidecarNodePlan[] = [];
  for (const c of chunks) {
    const size = BigInt(sidecarNodePages(c.vpCount)) * PAGE;
    // Own vnode first, then the next vnodes upward (wrapping), as the real allocator walks nodes.
    const order = [...free].sort((a, b) => ((a.vnode - c.vnode + 64) % 64) - ((b.vnode - c.vnode + 64) % 64));
    const from = order.find((f) => f.size >= size);
    if (from === undefined) return off(`not enough vtl2 memory for sidecar node of vp ${c.baseVp} (${sidecarNodePages(c.vpCount)} pages)`);
    from.size -= size;
    nodes.push({ ...c, memory: { gpa: from.gpa + from.size, size } });
  }
  const linux = new Set(nodes.map((n) => n.baseVp));
  const restoreLinux = i.plant === 'sidecar-ignores-outstanding-io' ? [] : i.restoreLinuxCpus ?? [];
  for (const cpu of restoreLinux) if (cpu < i.vpVnodes.length) linux.add(cpu);
  return { active: true, nodes, bootCpus: [...linux].sort((a, b) => a - b), logging: i.mode === 'log' };
}
