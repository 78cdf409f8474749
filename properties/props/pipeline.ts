import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { applyOverrides, topologyFromConfig, validateConfig, type Topology, type VmConfig } from '../../lib/config/index.ts';
import { isHclError } from '../../lib/errors.ts';
import { compareTopology, gpadlPages, nvmeKeepAliveOn, type NvmeState } from '../../lib/hcl/index.ts';
import { hostBootargs } from '../../lib/host/index.ts';
import { readText } from '../../lib/abi/index.ts';
import { hostIsTrusted } from '../../lib/shim/index.ts';
import { boot } from '../../harness/pipeline.ts';
import { bootWithWorkload, failedRestoreOutcome, restoreSnapshot, saveVm } from '../../harness/servicing.ts';
import type { InconsistencyKind } from '../../harness/oracle.ts';
import { arbPreservingOverride, arbTopologyChangingOverride, arbWorkload, type PathOverride } from '../arbitraries.ts';
import { define } from '../define.ts';
import { resaveMismatches } from '../resave.ts';
import { arbBootableConfig, memoryStore, storeIds } from '../vm.ts';

/** The pipeline properties: discovery, restore proof, preserving and topology-changing overrides. */

/** `--set` text for an override (strings raw, everything else as JSON, which applyOverrides types back). */
export const setText = (o: PathOverride): string => `${o.path}=${typeof o.value === 'string' ? o.value : JSON.stringify(o.value)}`;

/** A counterexample as [config, workload?, overrides?], whether or not it came through a chained tuple. */
const parts = (ce: unknown[]): [VmConfig, { steps: number } | undefined, unknown[] | undefined] => {
  const flat = (Array.isArray(ce[0]) ? ce[0] : ce) as unknown[];
  return [flat[0] as VmConfig, flat[1] as { steps: number } | undefined, Array.isArray(flat[2]) ? flat[2] : undefined];
};
/** Counterexample size: VPs + nodes of the config. */
export const shapeSize = (ce: unknown[]): number => parts(ce)[0].vps.length + parts(ce)[0].numa.length;
/** Counterexample size: workload steps. */
export const stepsSize = (ce: unknown[]): number => parts(ce)[1]?.steps ?? 0;

/**
 * Snapshots are saved under a fixed name: a config's `name` may start with `.` or `-`, which
 * validateConfig accepts but the store's NAME_PATTERN refuses (reported as a gap).
 */
export const SNAPSHOT_NAME = 'prop';

const fail = (what: string): never => {
  throw new Error(what);
};

/** What openvmm_hcl discovers through every stage equals topologyFromConfig(config). */
export const topologyDiscovered = define({
  name: 'topology-discovered',
  description: 'the topology openvmm_hcl discovers from ProcFs equals the config\'s',
  defaultRuns: 12,
  seam: 'shim-ignores-vnode',
  size: shapeSize,
  build: ({ maxVps, plant }) => fc.property(arbBootableConfig({ maxVps }), (config) => {
    const diffs = compareTopology(topologyFromConfig(config), boot(config, { plant }).discovered.topology);
    if (diffs.length > 0) fail(`discovered topology differs from the config: ${diffs.slice(0, 5).join('; ')}`);
  }),
});

/**
 * How the topology a restore discovered differs from the one before it, VTL2 RAM compared as a
 * restoring shim merges it: adjacent ranges of one vnode become one (openhcl_boot
 * host_params/dt/mod.rs `topology_from_persisted_state`, `merge_adjacent_ranges`), so a vtl2-mode
 * carve that took two adjacent host ranges comes back as one — the same RAM, cut otherwise.
 */
export function restoredTopologyDiffs(before: Topology, after: Topology): string[] {
  return compareTopology(withMergedVtl2Ram(before), withMergedVtl2Ram(after));
}

function withMergedVtl2Ram(t: Topology): Topology {
  const vtl2Ram: Topology['vtl2Ram'] = [];
  for (const r of t.vtl2Ram) {
    const last = vtl2Ram[vtl2Ram.length - 1];
    if (last !== undefined && last.vnode === r.vnode && last.base + last.size === r.base) vtl2Ram[vtl2Ram.length - 1] = { ...last, size: last.size + r.size };
    else vtl2Ram.push({ ...r });
  }
  return { ...t, vtl2Ram };
}

/** restore(save(vm)) after a workload proves identical, unit by unit, and keeps the topology (VTL2 RAM as a restoring shim merges it). */
export const restoreProves = define({
  name: 'restore-proves',
  description: 'restore(save(vm)) proves identical for every unit',
  defaultRuns: 8,
  seam: 'unit-forgets-field',
  size: stepsSize,
  build: ({ maxVps, plant }) => fc.asyncProperty(arbBootableConfig({ maxVps, serviceable: true }), arbWorkload(), async (config, workload) => {
    const store = await memoryStore();
    try {
      const vm = bootWithWorkload(config, workload, { plant });
      const saved = await saveVm(vm, store, { workload, name: SNAPSHOT_NAME });
      const r = await restoreSnapshot(store, saved.id, { plant });
      const bad = r.proof.differences.filter((d) => d.allowed === undefined);
      if (!r.proof.ok) fail(`proof failed: ${bad.slice(0, 3).map((d) => `${d.unit} ${d.path}: ${String(d.from)} → ${String(d.to)}`).join('; ')}`);
      const resaved = await resaveMismatches(store, saved.id, r.vm);
      if (resaved.length > 0) fail(`restored vm saves other state than the snapshot: ${resaved.join('; ')}`);
      const diffs = restoredTopologyDiffs(vm.discovered.topology, r.vm.discovered.topology);
      if (diffs.length > 0) fail(`restore changed the topology: ${diffs.join('; ')}`);
    } finally {
      await store.close();
    }
  }),
});

const arbWithPreserving = (maxVps: number) => arbBootableConfig({ maxVps, serviceable: true }).chain((config) =>
  fc.tuple(fc.constant(config), arbWorkload(), fc.array(arbPreservingOverride(config), { minLength: 1, maxLength: 3 })),
);

/** Topology-preserving overrides take effect on restore and the state survives. */
export const preservingOverrides = define({
  name: 'preserving-overrides',
  description: 'topology-preserving overrides take effect and state survives',
  defaultRuns: 8,
  seam: 'shim-drops-host-cmdline',
  size: (ce) => (parts(ce)[2]?.length ?? 0) + stepsSize(ce),
  build: ({ maxVps, plant }) => fc.asyncProperty(arbWithPreserving(maxVps), async ([config, workload, overrides]) => {
    const store = await memoryStore();
    try {
      const saved = await saveVm(bootWithWorkload(config, workload, { plant }), store, { workload, name: SNAPSHOT_NAME });
      const r = await restoreSnapshot(store, saved.id, { sets: overrides.map(setText), plant });
      if (!r.proof.ok) fail(`proof failed after overrides ${overrides.map(setText).join(' ')}`);
      const want = validateConfig(applyOverrides(config, overrides.map(setText)).config);
      const c = r.vm.config;
      if (!isDeepStrictEqual(c, want)) fail('restored vm runs a config other than the overridden one');
      const honoured = c.cmdline.policy === 'append-chosen' && hostIsTrusted(c.isolation, c.cmdline.static);
      const proc = readText(r.vm.kernel.procfs, '/proc/cmdline');
      const bootargs = hostBootargs(c);
      if (honoured && bootargs !== '' && !proc.includes(bootargs)) fail(`host bootargs ${JSON.stringify(bootargs)} missing from /proc/cmdline ${JSON.stringify(proc)}`);
      if (honoured && c.sidecar === 'off' && r.vm.kernel.online().length !== c.vps.length) {
        fail(`sidecar=off but only ${r.vm.kernel.online().length} of ${c.vps.length} VPs are online in Linux`);
      }
    } finally {
      await store.close();
    }
  }),
});

const arbWithChanging = (maxVps: number) => arbBootableConfig({ maxVps, serviceable: true }).chain((config) => fc.tuple(fc.constant(config), arbWorkload(), arbTopologyChangingOverride(config)));

/**
 * In vtl2 allocation mode the restoring shim keeps the saved carve (topology_from_persisted_state
 * checks VTL2 RAM against the host only in host mode), so the restore leaves VTL2 inconsistent
 * when the carve is no longer inside the host's RAM or the amount per vnode is not what
 * allocate_vtl2_ram would carve for the host's memory-size now.
 */
function vtl2CarveChanged(config: VmConfig, o: PathOverride): boolean {
  if (config.vtl2.mode !== 'vtl2') return false;
  const now = applyOverrides(config, [setText(o)]).config;
  const saved = topologyFromConfig(config).vtl2Ram;
  const ram = now.numa.flatMap((n) => n.memory);
  if (saved.some((r) => !ram.some((m) => r.base >= m.base && r.base + r.size <= m.base + m.size))) return true;
  const perNode = (rs: ReadonlyArray<{ vnode: number; size: number }>) => {
    const m = new Map<number, number>();
    for (const r of rs) m.set(r.vnode, (m.get(r.vnode) ?? 0) + r.size);
    return JSON.stringify([...m].sort(([a], [b]) => a - b));
  };
  return perNode(saved) !== perNode(topologyFromConfig(now).vtl2Ram);
}

/** What OpenHCL does with a restore onto a host whose view changed by one override, as read from openvmm's code. */
interface Expected {
  outcome: 'shim-panic' | 'usermode-error' | 'accepted';
  /** For an accepted restore: the inconsistency the oracle must report (none: it must report nothing new). */
  inconsistency?: InconsistencyKind;
}

const inRange = (gpa: bigint, r: { base: number; size: number }): boolean => gpa >= BigInt(r.base) && gpa < BigInt(r.base + r.size);

/**
 * The expected outcome of `o` on `config`, whose VM kept `nvme` across servicing. Sources: openhcl_boot
 * host_params/dt/mod.rs `topology_from_persisted_state` (CPUs and VTL0 RAM from the host, MMIO
 * from the saved state, assert_eq of VTL2 RAM in host mode only) and vmm_core
 * partition_unit/vp_set.rs `restore` (a saved VP index the partition lacks is UnknownEntryId; a
 * VP without saved state keeps its reset state).
 */
function expectedOutcome(config: VmConfig, o: PathOverride, nvme: NvmeState, gpadlGpas: readonly bigint[]): Expected {
  // Fewer VPs: a saved VP index past the new count is UnknownEntryId. More VPs: OpenHCL accepts it
  // and the new VP starts from reset, which the oracle reports as vp-without-state.
  if (o.path === 'vps') return (o.value as unknown[]).length > config.vps.length ? { outcome: 'accepted', inconsistency: 'vp-without-state' } : { outcome: 'usermode-error' };
  if (/^vps\[\d+\]\.(reg|vnode)$/.test(o.path)) return { outcome: 'accepted', inconsistency: 'vp-moved' };
  const ram = /^numa\[(\d+)\]\.memory\[(\d+)\]\./.exec(o.path);
  if (ram !== null) {
    // Devices keep DMAing where they were told: NVMe admin queues (kept only with keep-alive) and
    // every VMBus GPADL page (vmbus_server restores its GPADLs as saved). A target is hit when the
    // VTL0 RAM range holding it is not offered unchanged any more (in vtl2 allocation mode VTL2's
    // carve takes part of the host range, so VTL0's ranges, not the host's, are what count).
    const vtl0 = (c: VmConfig) => topologyFromConfig(c).nodes.flatMap((n) => n.memory.map((r) => ({ ...r, vnode: n.vnode })));
    const now = vtl0(applyOverrides(config, [setText(o)]).config);
    const changed = vtl0(config).filter((r) => !now.some((x) => x.base === r.base && x.size === r.size && x.vnode === r.vnode));
    const targets = [...nvme.controllers.flatMap((c) => (c.admin === null ? [] : [c.asq, c.acq])), ...gpadlGpas];
    if (targets.some((gpa) => changed.some((r) => inRange(gpa, r)))) return { outcome: 'accepted', inconsistency: 'dma-target-moved' };
    return vtl2CarveChanged(config, o) ? { outcome: 'accepted', inconsistency: 'vtl2-ram-differs' } : { outcome: 'accepted' };
  }
  if (o.path.startsWith('mmio.')) return { outcome: 'accepted', inconsistency: 'mmio-differs' };
  if (o.path.startsWith('vtl2.')) {
    if (config.vtl2.mode === 'host') return { outcome: 'shim-panic' };
    return vtl2CarveChanged(config, o) ? { outcome: 'accepted', inconsistency: 'vtl2-ram-differs' } : { outcome: 'accepted' };
  }
  throw new Error(`no expected outcome for an override of ${o.path}`);
}

/**
 * Every topology change on restore ends in the outcome OpenHCL would have — the shim panics,
 * openvmm_hcl refuses the saved state, or it is accepted — and the consistency oracle flags every
 * accepted one that leaves the paravisor inconsistent with the host (and nothing new for one that
 * does not, against a restore of the same snapshot without the change). A refused restore leaves
 * the store unchanged; an override that makes the config invalid is CONFIG_INVALID first.
 */
export const changingOverridesRefused = define({
  name: 'changing-overrides-refused',
  description: 'topology changes end as OpenHCL would end them (shim panic, usermode error, accepted) and the oracle flags every inconsistent accepted one',
  defaultRuns: 10,
  seam: 'oracle-ignores-mmio',
  size: stepsSize,
  build: ({ maxVps, plant }) => fc.asyncProperty(arbWithChanging(maxVps), async ([config, workload, override]) => {
    const store = await memoryStore();
    try {
      const vm = bootWithWorkload(config, workload, { plant });
      // Only keep-alive keeps the controllers' queues (and their DMA) across servicing (dispatch/mod.rs
      // LoadedVm::save saves the NVMe manager only then); without it they restore fresh.
      const nvme: NvmeState = nvmeKeepAliveOn(vm.discovered.options) ? structuredClone(vm.units.nvme.view()) : { controllers: [] };
      const saved = await saveVm(vm, store, { workload, name: SNAPSHOT_NAME });
      const before = await storeIds(store);
      const sets = [setText(override)];
      let invalid = false;
      try {
        validateConfig(applyOverrides(config, sets).config);
      } catch (e) {
        if (!isHclError(e, 'CONFIG_INVALID')) throw e;
        invalid = true;
      }
      const gpadls = vm.units.vmbus.save().server.state.gpadls.flatMap((g) => gpadlPages(g).map((pfn) => pfn * 4096n));
      const want = invalid ? undefined : expectedOutcome(config, override, nvme, gpadls);
      let got: Awaited<ReturnType<typeof restoreSnapshot>> | undefined;
      let error: unknown;
      try {
        got = await restoreSnapshot(store, saved.id, { sets, plant });
      } catch (e) {
        error = e;
      }
      const what = `override ${sets[0]}`;
      const gotText = got !== undefined ? got.outcome.kind : isHclError(error) ? `${error.code}: ${error.message}` : String(error);
      if (want === undefined) {
        if (!isHclError(error, 'CONFIG_INVALID')) fail(`${what}: expected CONFIG_INVALID, got ${gotText}`);
      } else if (want.outcome !== 'accepted') {
        if (failedRestoreOutcome(error)?.kind !== want.outcome) fail(`${what}: expected ${want.outcome}, got ${gotText}`);
      } else {
        if (got === undefined) return fail(`${what}: expected accepted, got ${gotText}`);
        const found = new Set(got.inconsistencies.map((x) => x.kind));
        if (want.inconsistency !== undefined && !found.has(want.inconsistency)) fail(`${what}: accepted, but the oracle missed ${want.inconsistency} (found: ${[...found].join(', ') || 'nothing'})`);
        if (want.inconsistency === undefined) {
          const base = new Set((await restoreSnapshot(store, saved.id, { plant })).inconsistencies.map((x) => x.kind));
          const extra = [...found].filter((k) => !base.has(k));
          if (extra.length > 0) fail(`${what}: consistent, but the oracle reports ${extra.join(', ')}`);
        }
      }
      if (got === undefined && JSON.stringify(await storeIds(store)) !== JSON.stringify(before)) fail('a refused restore changed the store');
    } finally {
      await store.close();
    }
  }),
});
