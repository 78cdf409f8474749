import { topologyFromConfig, type Topology, type TopoRange, type VmConfig } from '../lib/config/index.ts';
import { gpadlPages, type HclUnits, type NvmeState } from '../lib/hcl/index.ts';
import type { Plant } from '../lib/plant.ts';

/**
 * The consistency oracle: after a restore OpenHCL accepted, compare the restored paravisor with
 * the host's new view of the VM and list what does not fit — what OpenHCL itself never checks
 * (it takes CPUs and VTL0 RAM fresh from the host and MMIO from the saved state, and restores
 * per-VP state by index). The host's view is `topologyFromConfig` of the config the host now
 * runs, computed without the boot pipeline, so the oracle does not share the shim's or
 * discovery's code.
 */

/** What kind of inconsistency. */
export type InconsistencyKind =
  | 'vp-without-state' | 'state-without-vp' | 'vp-moved' | 'dma-target-moved'
  | 'mmio-differs' | 'vtl2-ram-differs' | 'queue-on-sidecar-cpu';

/** One inconsistency the oracle found. */
export interface Inconsistency {
  kind: InconsistencyKind;
  message: string;
}

/** What the oracle looks at: the saved VM, the restored paravisor, and the host's config now. */
export interface OracleInputs {
  /** Topology the paravisor had when it was saved (what openvmm_hcl discovered then). */
  saved: Topology;
  /** Per-VP saved state entries (the hypervisor's VP register files), by VP index. */
  savedVpCount: number;
  /** Topology the restored paravisor runs with (what openvmm_hcl discovered on this boot). */
  restored: Topology;
  /**
   * The restored NVMe manager's controllers: with keep-alive off at save they start fresh (no
   * queues), so nothing of NVMe can be inconsistent then.
   */
  nvme: Readonly<NvmeState>;
  /** The restored VMBus server state (its GPADLs are guest pages the devices DMA to). */
  vmbus: ReturnType<HclUnits['vmbus']['save']>;
  /** VPs that run Linux after the restore; the rest start in the sidecar. */
  linuxCpus: ReadonlySet<number>;
  /** The config the host runs the VM with now (after overrides). */
  host: VmConfig;
  /** A defect a test plants (lib/plant.ts); undefined in production. */
  plant?: Plant | undefined;
}

const hex = (n: number): string => `0x${n.toString(16)}`;
const fmt = (r: TopoRange): string => `${hex(r.base)}+${hex(r.size)}`;
const same = (a: TopoRange, b: TopoRange): boolean => a.base === b.base && a.size === b.size;
const inside = (gpa: number, r: TopoRange): boolean => gpa >= r.base && gpa < r.base + r.size;

// The RAM a list of ranges covers: sorted, adjacent ranges (of one vnode) merged. How a side cuts
// the same VTL2 RAM into ranges is no inconsistency (allocate_vtl2_ram does not merge its per-node
// carves; the paravisor's view does). MMIO windows are compared as given.
function covered<R extends TopoRange & { vnode?: number }>(rs: readonly R[]): TopoRange[] {
  const out: Array<TopoRange & { vnode?: number }> = [];
  for (const r of [...rs].sort((x, y) => x.base - y.base)) {
    const last = out.at(-1);
    if (last !== undefined && last.base + last.size === r.base && last.vnode === r.vnode) last.size += r.size;
    else out.push({ base: r.base, size: r.size, ...(r.vnode === undefined ? {} : { vnode: r.vnode }) });
  }
  return out;
}

function ranges(label: string, paravisor: TopoRange[], host: TopoRange[], kind: InconsistencyKind, out: Inconsistency[]): void {
  const a = paravisor.map(fmt).join(', ');
  const b = host.map(fmt).join(', ');
  if (a !== b) out.push({ kind, message: `${label}: the paravisor uses [${a}], the host offers [${b}]` });
}

/**
 * VTL2 allocation mode: VTL2 carves its RAM itself, so where it sits is VTL2's business, not the
 * host's. The restoring shim keeps the saved carve (topology_from_persisted_state; "FUTURE: ...
 * verify that all ranges are still within the provided memory map"), which is inconsistent when
 * a range no longer lies in the RAM the host gives, or when the amount per vnode is not what the
 * host's memory-size now asks for (allocate_vtl2_ram's per-node share).
 */
function vtl2Carve(i: OracleInputs, host: Topology, out: Inconsistency[]): void {
  const ram = i.host.numa.flatMap((n) => n.memory);
  for (const r of covered(i.restored.vtl2Ram)) {
    if (!ram.some((m) => r.base >= m.base && r.base + r.size <= m.base + m.size)) {
      out.push({ kind: 'vtl2-ram-differs', message: `vtl2 ram ${fmt(r)}: the saved carve is no longer inside the ram the host gives` });
    }
  }
  const perNode = (rs: ReadonlyArray<TopoRange & { vnode: number }>): string => {
    const m = new Map<number, number>();
    for (const r of rs) m.set(r.vnode, (m.get(r.vnode) ?? 0) + r.size);
    return [...m].sort(([a], [b]) => a - b).map(([v, n]) => `vnode ${v}: ${hex(n)}`).join(', ');
  };
  const [a, b] = [perNode(i.restored.vtl2Ram), perNode(host.vtl2Ram)];
  if (a !== b) out.push({ kind: 'vtl2-ram-differs', message: `vtl2 ram per vnode: the paravisor uses [${a}], the host's memory-size asks for [${b}]` });
}

/** Every inconsistency between the restored paravisor and the host's new view; empty when consistent. */
export function checkConsistency(i: OracleInputs): Inconsistency[] {
  const host = topologyFromConfig(i.host);
  const out: Inconsistency[] = [];
  for (let vp = i.savedVpCount; vp < host.vps.length; vp++) {
    out.push({ kind: 'vp-without-state', message: `vp ${vp}: the host has it, the snapshot has no saved state for it (it starts from reset)` });
  }
  for (let vp = host.vps.length; vp < i.savedVpCount; vp++) {
    out.push({ kind: 'state-without-vp', message: `vp ${vp}: saved state for a vp the host no longer has` });
  }
  for (const now of host.vps) {
    const was = i.saved.vps[now.index];
    if (was === undefined) continue;
    if (was.reg !== now.reg) out.push({ kind: 'vp-moved', message: `vp ${now.index}: saved as apic id/mpidr ${hex(was.reg)}, the host now gives it ${hex(now.reg)}` });
    if (was.vnode !== now.vnode) out.push({ kind: 'vp-moved', message: `vp ${now.index}: saved on vnode ${was.vnode}, the host now puts it on vnode ${now.vnode}` });
  }
  // DMA: an NVMe controller or a VMBus GPADL kept across servicing keeps pointing at guest memory it was given.
  const savedRam = i.saved.nodes.flatMap((n) => n.memory.map((r) => ({ ...r, vnode: n.vnode })));
  const hostRam = host.nodes.flatMap((n) => n.memory.map((r) => ({ ...r, vnode: n.vnode })));
  const dmaTarget = (who: string, gpa: number): void => {
    const old = savedRam.find((r) => inside(gpa, r));
    if (old !== undefined && !hostRam.some((r) => same(r, old) && r.vnode === old.vnode)) {
      out.push({ kind: 'dma-target-moved', message: `${who} at ${hex(gpa)} is in vtl0 ram ${fmt(old)} (vnode ${old.vnode}), which the host changed` });
    }
  };
  i.nvme.controllers.forEach((c, ci) => {
    if (c.admin === null) return;
    dmaTarget(`nvme ${c.id} (controller ${ci}): admin submission queue`, Number(c.asq));
    dmaTarget(`nvme ${c.id} (controller ${ci}): admin completion queue`, Number(c.acq));
  });
  // Every page of a GPADL; one finding per GPADL, at its first page in changed RAM.
  for (const g of i.vmbus.server.state.gpadls) {
    const before = out.length;
    for (const pfn of gpadlPages(g)) {
      dmaTarget(`vmbus channel ${g.channelId}: gpadl ${g.id} page`, Number(pfn) * 4096);
      if (out.length > before) break;
    }
  }
  if (i.plant !== 'oracle-ignores-mmio') {
    ranges('vtl0 mmio', i.restored.vtl0Mmio, host.vtl0Mmio, 'mmio-differs', out);
    ranges('vtl2 mmio', i.restored.vtl2Mmio, host.vtl2Mmio, 'mmio-differs', out);
  }
  if (i.host.vtl2.mode === 'host') ranges('vtl2 ram', covered(i.restored.vtl2Ram), covered(host.vtl2Ram), 'vtl2-ram-differs', out);
  else vtl2Carve(i, host, out);
  // Only a queue with commands in flight: OpenHCL restores it at once and its completions wait
  // for the sidecar CPU to come online inside the blackout, which the persisted
  // cpus_with_outstanding_io exists to prevent. An idle queue is no inconsistency: nvme_driver
  // driver.rs restores it on first use (lazy path) or maps its interrupt with a task on the CPU,
  // and underhill_core vp.rs onlines a sidecar CPU on demand — loader_defs shim.rs SavedState
  // calls that "less optimal, but still functionally correct".
  i.nvme.controllers.forEach((c, ci) => {
    for (const q of c.ioQueues) {
      const at = `nvme ${c.id} (controller ${ci}) queue ${q.qid}`;
      if (q.targetVp >= host.vps.length) out.push({ kind: 'queue-on-sidecar-cpu', message: `${at}: bound to cpu ${q.targetVp}, which the host no longer has` });
      else if (!i.linuxCpus.has(q.targetVp) && q.inFlight.length > 0) {
        out.push({ kind: 'queue-on-sidecar-cpu', message: `${at}: ${q.inFlight.length} commands in flight, their interrupt targets cpu ${q.targetVp}, which starts in the sidecar` });
      }
    }
  });
  return out;
}
