import type { Plant } from '../plant.ts';
import { SIDECAR_PER_CPU_STATE_CPUS, unspecifiedCpuState, type PerCpuState, type Region } from '../abi/index.ts';

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
  | { active: true; nodes: SidecarNodePlan[]; bootCpus: number[]; logging: boolean; perCpuState: PerCpuState }
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
/** PerCpuState's capacity: a restore excluding CPUs beyond it disables sidecar. */
export const SIDECAR_RESTORE_MAX_CPUS = SIDECAR_PER_CPU_STATE_CPUS;
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

// True when a VP in [from, to) still starts in sidecar.
function anyStarts(starts: readonly boolean[], from: number, to: number): boolean {
  for (let vp = from; vp < to; vp++) if (starts[vp] === true) return true;
  return false;
}

/**
 * Decides the sidecar plan as openhcl_boot sidecar.rs `start_sidecar` and host_params/dt
 * `read_from_dt` do; never throws — every skip condition gives a reason.
 */
export function planSidecar(i: SidecarInputs): SidecarPlan {
  const off = (reason: string): SidecarPlan => ({ active: false, reason });
  if (i.arch !== 'x86_64') return off('not x86_64');
  if (i.isolated) return off('isolated partition');
  if (!i.hasImage) return off('no sidecar image');
  if (i.mode === 'off') return off('OPENHCL_SIDECAR=off');
  // Per-CPU overrides exist only when the restore excludes some CPUs; they fit PerCpuState's
  // 400 entries or sidecar is disabled for the servicing boot.
  const ignoreIo = i.plant === 'sidecar-ignores-outstanding-io';
  const excluded = i.restoring && !ignoreIo ? (i.restoreLinuxCpus ?? []) : [];
  if (excluded.length > 0 && (i.vpVnodes.length > SIDECAR_RESTORE_MAX_CPUS || Math.max(...excluded) >= SIDECAR_RESTORE_MAX_CPUS)) {
    return off(`restore with ${i.vpVnodes.length} cpus and excluded cpus up to ${Math.max(...excluded)} (per-cpu state holds ${SIDECAR_RESTORE_MAX_CPUS})`);
  }
  // start_sidecar's max_vnode covers the CPUs and the VTL2 RAM ranges (here their free parts).
  const big = i.vpVnodes.findIndex((v) => v >= 64);
  if (big >= 0) return off(`vp ${big} has vnode ${i.vpVnodes[big]} (>= 64)`);
  const bigRam = i.free.find((f) => f.vnode >= 64);
  if (bigRam !== undefined) return off(`vtl2 ram at 0x${bigRam.gpa.toString(16)} has vnode ${bigRam.vnode} (>= 64)`);
  const chunks = splitRuns(i.vpVnodes);
  if (chunks.every((c) => c.vpCount === 1)) return off('every sidecar node would have one cpu');
  const starts = i.vpVnodes.map(() => true);
  for (const cpu of excluded) if (cpu < starts.length) starts[cpu] = false;
  const free = i.free.map((f) => ({ ...f })).sort((a, b) => (a.gpa < b.gpa ? -1 : a.gpa > b.gpa ? 1 : 0));
  const nodes: SidecarNodePlan[] = [];
  for (const c of chunks) {
    // A node none of whose APs is left for sidecar (a one-CPU chunk, or every AP excluded) is
    // skipped (sidecar_node_is_empty). Model difference (README): its base VP boots Linux even
    // without per-CPU overrides, where the real boot_cpus= would leave a one-CPU chunk out.
    if (!anyStarts(starts, c.baseVp + 1, c.baseVp + c.vpCount)) {
      starts[c.baseVp] = false;
      continue;
    }
    const size = BigInt(sidecarNodePages(c.vpCount)) * PAGE;
    // AllocationPolicy::LowMemory on the first CPU's vnode, then on any vnode.
    const from = free.find((f) => f.vnode === c.vnode && f.size >= size) ?? free.find((f) => f.size >= size);
    if (from === undefined) return off(`not enough vtl2 memory for sidecar node of vp ${c.baseVp} (${sidecarNodePages(c.vpCount)} pages)`);
    nodes.push({ ...c, memory: { gpa: from.gpa, size } });
    from.gpa += size;
    from.size -= size;
    starts[c.baseVp] = false;
  }
  if (nodes.length === 0) return off('no sidecar node has a cpu for sidecar to start');
  // boot_cpus= lists every kernel-started CPU (with per-CPU overrides; else node base VPs and,
  // in the model, the CPUs of skipped one-CPU chunks).
  // The initial state handed to sidecar: the per-CPU overrides, padded to PerCpuState's 400.
  const perCpuState = excluded.length === 0 ? unspecifiedCpuState()
    : { specified: true, startsCpu: Array.from({ length: SIDECAR_PER_CPU_STATE_CPUS }, (_, vp) => starts[vp] ?? false) };
  const bootCpus: number[] = [];
  starts.forEach((s, vp) => { if (!s) bootCpus.push(vp); });
  return { active: true, nodes, bootCpus, logging: i.mode === 'log', perCpuState };
}
