import { randomUUID } from 'node:crypto';
import { applyOverrides, type Override, validateConfig, type VmConfig } from '../lib/config/index.ts';
import { diffValues, changePath, sameValues } from '../lib/diff/index.ts';
import { HclError, isHclError } from '../lib/errors.ts';
import { faultActive } from '../lib/faults.ts';
import { buildPackage, packageOptionsFor, platformFor } from '../lib/host/index.ts';
import { hvByName, hvView, sameTypedHv, type HvState } from '../lib/hv/index.ts';
import { readIgvm, selectPlatform } from '../lib/igvm/index.ts';
import { VMBUS_UNIT_V3, nvmeInterruptState, nvmeIoQueues, nvmeKeepAliveOn, persistedInfo, withLegacyRings, type Vtl0Rings, type VmbusStateV3 } from '../lib/hcl/index.ts';
import { isVtl2RamType, type PersistedPayload } from '../lib/abi/index.ts';
import type { Plant } from '../lib/plant.ts';
import { FIELDS_GENERATION, currentGeneration, downgrade, generationAtMost, type ServicingState } from '../lib/state/index.ts';
import type { PartInput, SnapshotStore } from '../lib/store/index.ts';
import { boot, type BootOptions, type Vm } from './pipeline.ts';
import { PART, currentUnitSet, decodeParts, defaultRegistry, encodeParts, legacyInitPart, snapshotInfo, type SnapshotInfo } from '../lib/snapshot/index.ts';
import { runWorkload, type WorkloadSpec } from './workload.ts';
import { checkConsistency, type Inconsistency } from './oracle.ts';

/**
 * Servicing as OpenHCL does it, against the snapshot store: save pauses the paravisor, saves every
 * unit, the hypervisor's VP registers and the shim's topology checkpoint; restore reloads the IGVM
 * with the (possibly updated) host parameters, boots again, rehydrates, and proves the result by
 * saving again at once.
 */

/** Save settings. */
export interface SaveOptions {
  /** Snapshot name; default the config's VM name. */
  name: string;
  /** Workload that ran before this save (recorded in the manifest). */
  workload: WorkloadSpec | null;
  overrides: Override[];
  parent: string | null;
  /** The host's timeout hint for the save; default 30 s. The deadline is `servicingDeadlineMs` of it. */
  timeoutMs: number;
  correlationId: string;
  /** Saved-state generation to write (servicing back to an older release); default: current. */
  generation: number | null;
}

/** What a save wrote. */
export interface SaveResult {
  id: string;
  name: string;
  seq: number;
  bytes: number;
  newBytes: number;
  /** Stored blobs found damaged and rewritten by this save. */
  repairedBlobs: string[];
  units: Array<{ name: string; package: string; generation: number; bytes: number }>;
}

/** A VM's saved state in memory: the ServicingState, unit metadata, hv registers, the shim checkpoint and the host-kept VTL0 ring pages. */
export interface SavedVm {
  state: ServicingState;
  unitMeta: Map<string, { package: string; generation: number }>;
  hv: unknown;
  persisted: PersistedPayload;
  /** VTL0 memory the host keeps across servicing (the VMBus ring control pages); not OpenHCL's saved state. */
  vtl0: Vtl0Rings;
}

/**
 * `write_persisted_info` at save: the partition map openvmm_hcl parsed from the shim's device
 * tree and `nvme_interrupt_state` of the saved NVMe manager state (none without keep-alive).
 */
function persistedOf(vm: Vm, state: ServicingState): PersistedPayload {
  const p = persistedInfo(vm.discovered.partitionMemoryMap, nvmeInterruptState(nvmeIoQueues(state.initState.nvmeState?.nvmeState)));
  if (vm.plant !== 'shim-persists-short-map' || !vm.shim.restored) return p;
  const last = p.partitionMemory.findLastIndex((m) => isVtl2RamType(m.vtlType));
  return { ...p, partitionMemory: p.partitionMemory.filter((_, i) => i !== last) };
}

/** A host timeout hint of this many seconds or more means "no timeout set". */
const NO_TIMEOUT_HINT_S = 0xffff;
/** The deadline OpenHCL uses then. */
const DEFAULT_DEADLINE_MS = 200_000;

/**
 * The servicing deadline for a host timeout hint, as dispatch/mod.rs's ServicingRequest handler
 * sets it: the hint itself, except that a hint of u16::MAX seconds or more means 200 s.
 */
export function servicingDeadlineMs(hintMs: number): number {
  return hintMs >= NO_TIMEOUT_HINT_S * 1000 ? DEFAULT_DEADLINE_MS : hintMs;
}

/**
 * Pauses the paravisor and captures its whole saved state in OpenHCL's order (underhill_core
 * dispatch/mod.rs `handle_servicing_inner` and `LoadedVm::save`): stop the state units; emuplat
 * (init state); DMA manager (not modelled); NVMe manager (into the init state, only under
 * keep-alive); the state units; MANA,
 * VMGS and VMBus client (not modelled); `fix_pre_save` (nothing to fix without a vmbus_relay
 * unit); the persisted info for the next shim; flush logs (none). The hypervisor saves the VP
 * registers itself.
 */
export function captureVm(vm: Vm, opts: Pick<SaveOptions, 'timeoutMs' | 'correlationId'>): SavedVm {
  if (faultActive('save-fail')) {
    throw new HclError('FAULT_INJECTED', 'servicing save: failed by HCLCKPT_FAULT=save-fail (OPENHCL_TEST_CONFIG=SERVICING_SAVE_FAIL)');
  }
  // save-stuck: a unit hangs inside the save past its deadline, so the watchdog fires (SERVICING_TIMEOUT) and the VM is dead.
  const unstick = faultActive('save-stuck') ? stallUnit(vm, opts.timeoutMs + 20) : () => {};
  try {
    const state = vm.servicing.save(
      // OpenHCL refuses servicing for every isolated partition, VBS included (dispatch/mod.rs
      // handle_servicing_inner: `isolation.is_isolated()`); usermode knows its isolation from the shim's DT.
      { correlationId: opts.correlationId, timeoutNs: BigInt(Math.round(servicingDeadlineMs(opts.timeoutMs) * 1e6)), isolated: vm.discovered.isolation !== 'none' },
      // The model boots no firmware, keeps no guest RTC offset, has no networking and no shutdown relay.
      () => {
        const nvme = vm.units.nvme.save(nvmeKeepAliveOn(vm.discovered.options));
        return {
          firmwareType: 'none', emuplat: { rtcLocalClock: { offsetFromHostTimeMillis: 0n }, netvspState: [] }, overlayShutdownDevice: false,
          ...(nvme === undefined ? {} : { nvmeState: { nvmeState: nvme } }),
        };
      },
    );
    const unitMeta = new Map(vm.units.all.map((u) => [u.name, { package: u.package, generation: u.generation }]));
    return { state, unitMeta, hv: vm.hv.save(), persisted: persistedOf(vm, state), vtl0: vm.units.vmbus.guest.save() };
  } finally {
    unstick();
  }
}

/** Fault seam: blocks the thread for `ms` inside the next save of the VM's first unit; returns the undo. */
function stallUnit(vm: Vm, ms: number): () => void {
  const unit = vm.units.all[0];
  if (unit === undefined) return () => {};
  const save = unit.save;
  unit.save = () => {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    return save.call(unit);
  };
  return () => { unit.save = save; };
}

/**
 * How a save ended that OpenHCL would not survive: its servicing watchdog panicked (the deadline
 * passed), so the VM is dead. Any other failed save resumes the VM (`LoadedVm::save`'s error path).
 */
export type SaveOutcome = { layer: 'usermode'; kind: 'watchdog-panic' };

/** The fatal outcome a failed save's error stands for; undefined for an ordinary failure, after which the VM runs on. */
export function failedSaveOutcome(e: unknown): SaveOutcome | undefined {
  return isHclError(e, 'SERVICING_TIMEOUT') && e.context?.['kind'] === 'watchdog-panic' ? { layer: 'usermode', kind: 'watchdog-panic' } : undefined;
}

/** Saves `vm` into `store`; the VM is paused afterwards, as after an OpenHCL save (dead after a watchdog panic). */
export async function saveVm(vm: Vm, store: SnapshotStore, options: Partial<SaveOptions> = {}): Promise<SaveResult> {
  const o: SaveOptions = {
    name: vm.config.name, workload: null, overrides: [], parent: null, timeoutMs: 30_000, correlationId: randomUUID(), generation: null, ...options,
  };
  const saved = captureVm(vm, o);
  const observed = { topology: vm.discovered.topology, options: { ...vm.kernel.env }, usermodeVersion: vm.usermodeVersion };
  let parts: PartInput[];
  try {
    if (o.generation !== null) writeGeneration(saved, o.generation);
    parts = encodeParts(saved.state, saved.unitMeta, saved.hv, saved.persisted, vm.igvm, saved.vtl0);
    // Generations 1-2 read a name-keyed init state that holds the observed fields itself.
    const older = o.generation !== null && o.generation < FIELDS_GENERATION;
    if (older) parts = parts.map((p) => (p.name === PART.init ? legacyInitPart(saved.state.initState, observed) : p));
  } catch (e) {
    vm.servicing.resume(); // the state cannot be written there: nothing saved, the VM runs on
    throw e;
  }
  const info: SnapshotInfo = {
    config: vm.config, overrides: o.overrides, igvmDigest: vm.igvmDigest, usermodeVersion: vm.usermodeVersion, observed,
    generation: o.generation ?? defaultRegistry().newestGeneration(),
    topology: { arch: vm.config.arch, vps: vm.discovered.topology.vps.length, nodes: vm.discovered.topology.nodes.length },
    cmdline: vm.discovered.cmdline, workload: o.workload, correlationId: o.correlationId,
  };
  try {
    const put = await store.putSnapshot({ name: o.name, parent: o.parent, info: info as unknown as Record<string, unknown>, parts });
    return {
      id: put.id, name: put.name, seq: put.seq, bytes: put.bytes, newBytes: put.newBytes, repairedBlobs: put.repairedBlobs,
      units: saved.state.units.map((u) => {
        const m = saved.unitMeta.get(u.name)!;
        return { name: u.name, package: m.package, generation: m.generation, bytes: parts.find((p) => p.name === PART.unitPrefix + u.name)!.bytes.length };
      }),
    };
  } catch (e) {
    vm.servicing.resume(); // a failed save leaves the VM running, as OpenHCL does
    throw e;
  }
}

/**
 * Rewrites the captured units as saved-state generation `generation`: each unit goes through its
 * downgraders to the generation that release wrote, its newest one not above `generation`
 * (STATE_GENERATION when its state cannot be expressed there); below 3 that is the name-keyed form.
 */
function writeGeneration(saved: SavedVm, generation: number): void {
  const registry = defaultRegistry();
  const newest = registry.newestGeneration();
  if (!Number.isInteger(generation) || generation < 1 || generation > newest) {
    throw new HclError('STATE_GENERATION', `save --generation ${generation}: this release writes generations 1..${newest}`);
  }
  if (generation < 2) saved.hv = hvByName(saved.hv as HvState); // the hypervisor's file by name, as generation 1 wrote it
  // Units an older release kept differently (merged, renamed, inside the init state) first.
  const set = registry.toSetOf({ units: saved.state.units, init: saved.state.initState }, generation);
  // Those releases kept the VMBus ring positions in their unit: read them from VTL0 memory.
  for (const u of set.units) if (u.name === VMBUS_UNIT_V3.name) u.state = withLegacyRings(u.state as VmbusStateV3, saved.vtl0);
  saved.state = { initState: set.init, units: set.units };
  for (const u of set.units) {
    if (!saved.unitMeta.has(u.name)) {
      const d = registry.get(u.name);
      saved.unitMeta.set(u.name, { package: d.package, generation: currentGeneration(d).generation });
    }
  }
  for (const name of [...saved.unitMeta.keys()]) if (!set.units.some((u) => u.name === name)) saved.unitMeta.delete(name);
  for (const u of saved.state.units) {
    const meta = saved.unitMeta.get(u.name)!;
    const target = generationAtMost(registry.get(u.name), generation) ?? meta.generation;
    if (target === meta.generation) continue;
    u.state = downgrade(u.name, u.state, target, registry);
    saved.unitMeta.set(u.name, { ...meta, generation: target });
  }
}

/** Restore settings: overrides on the saved config, or a whole new config, or a new IGVM. */
export interface RestoreOptions {
  sets: string[];
  config: VmConfig;
  igvm: Uint8Array;
  /** Restore deadline (load, boot, rehydrate); default 60 s. Exceeding it is SERVICING_TIMEOUT and the restored VM is discarded. */
  timeoutMs: number;
  /** A defect a test plants in this restore and the restored VM (lib/plant.ts); never set by the CLI. */
  plant: Plant | undefined;
}

/** One difference the proof found between the snapshot and the state saved again after restore. */
export interface ProofDifference {
  unit: string;
  path: string;
  from: unknown;
  to: unknown;
  /** Why it may differ; absent means it must not. */
  allowed?: string;
}

/**
 * How a restore ended, by the layer that decided it: the shim panics (`SHIM_PANIC`, OpenHCL
 * would crash), openvmm_hcl refuses the saved state (a usermode error, reported to the host) or
 * its servicing watchdog panics in the proof's save (the restored VM is dead), or OpenHCL accepts
 * it and the consistency oracle judges the result.
 */
export type RestoreOutcome =
  | { layer: 'shim'; kind: 'shim-panic' }
  | { layer: 'usermode'; kind: 'usermode-error' }
  | SaveOutcome
  | { layer: 'oracle'; kind: 'accepted-consistent' | 'accepted-inconsistent' };

/** The outcome a failed restore's error stands for; undefined for errors before the VM was rebuilt (store, overrides, config). */
export function failedRestoreOutcome(e: unknown): RestoreOutcome | undefined {
  if (isHclError(e, 'SHIM_PANIC')) return { layer: 'shim', kind: 'shim-panic' };
  const fatal = failedSaveOutcome(e);
  if (fatal !== undefined) return fatal;
  if (isHclError(e) && e.context?.['layer'] === 'usermode') return { layer: 'usermode', kind: 'usermode-error' };
  return undefined;
}

/** What a restore did and proved. */
export interface RestoreResult {
  vm: Vm;
  from: string;
  info: SnapshotInfo;
  overrides: Override[];
  /** Accepted by OpenHCL; consistent or not, as the oracle judges. */
  outcome: RestoreOutcome & { layer: 'oracle' };
  /** What the oracle found; empty when consistent. */
  inconsistencies: Inconsistency[];
  /** No inconsistencies. */
  topologyConsistent: boolean;
  proof: { ok: boolean; units: number; differences: ProofDifference[] };
  restoredUnits: string[];
  defaultedUnits: string[];
}

/** Fields that the boot itself decides, not the snapshot (post-restore fix-ups). */
const BOOT_DERIVED: Array<[string, RegExp, string]> = [
  ['partition', /^vps\[\d+\]\.data\.role$/, 'where a VP runs is decided by this boot (sidecar split, outstanding I/O, OPENHCL_SIDECAR)'],
];

/** A whole per-VP entry the snapshot lacks: a VP the host added, which starts from reset. */
const NEW_VP = /^vps\[\d+\]$/;
const NEW_VP_WHY = 'a vp with no saved state starts from reset (vp_set.rs VpSet::restore); the oracle reports it';

/** Why the proof may find `path` of `unit` changed from `from`; undefined when it must not differ. */
function allowedChange(unit: string, path: string, from: unknown): string | undefined {
  if (from === undefined && NEW_VP.test(path)) return NEW_VP_WHY;
  return BOOT_DERIVED.find(([u, re]) => u === unit && re.test(path))?.[2];
}

/**
 * Refuses a servicing IGVM that cannot run the snapshot's VM before anything boots: another
 * architecture (openvmm loads IGVM per guest arch, openvmm_core/src/worker/vm_loaders/igvm.rs
 * load_igvm) or no platform header for the VM's isolation (the same file's platform lookup).
 */
function refuseForeignIgvm(igvm: Uint8Array, config: VmConfig): void {
  let file;
  try {
    file = readIgvm(igvm);
  } catch (e) {
    if (isHclError(e)) throw new HclError(e.code, `restore --igvm: ${e.message}`, { cause: e });
    throw e;
  }
  const arch = file.revision.version === 2 && file.revision.arch === 'aarch64' ? 'aarch64' : 'x86_64';
  if (arch !== config.arch) throw new HclError('IGVM_ARCH_MISMATCH', `restore --igvm: the IGVM is ${arch}, the snapshot's VM is ${config.arch}`);
  try {
    selectPlatform(file, platformFor(config.arch, config.isolation));
  } catch (e) {
    if (isHclError(e, 'IGVM_NO_PLATFORM_FOR_ISOLATION')) throw new HclError(e.code, `restore --igvm: the IGVM has no platform for the snapshot's ${config.isolation} isolation`, { cause: e });
    throw e;
  }
}

/** Restores snapshot `ref` from `store` with updated host parameters, then proves it. */
export async function restoreSnapshot(store: SnapshotStore, ref: string, options: Partial<RestoreOptions> = {}): Promise<RestoreResult> {
  const snap = await store.getSnapshot(ref);
  const info = snapshotInfo(snap.manifest);
  const parts = decodeParts(snap);
  const sets = options.sets ?? [];
  // No overrides: nothing to apply. The saved config is still validated (2 ms at 2048 VPs): import
  // checks an archive's hashes and its manifest's shape (parseArchive → decodeManifest, where
  // `info` need only be a record), so a hash-checked manifest is intact, not one a boot accepts,
  // and a store cannot tell an imported manifest from a saved one.
  const { config: overridden, applied } = sets.length === 0 ? { config: options.config ?? info.config, applied: [] } : applyOverrides(options.config ?? info.config, sets);
  const config = validateConfig(overridden);
  if (faultActive('restore-fail')) {
    throw new HclError('FAULT_INJECTED', 'servicing restore: failed by HCLCKPT_FAULT=restore-fail before the vm was rebuilt');
  }
  const timeoutMs = options.timeoutMs ?? 60_000;
  const started = performance.now();

  if (options.igvm !== undefined) refuseForeignIgvm(options.igvm, config);
  const vm = boot(config, { igvm: options.igvm ?? packageFor(config, info, parts), persisted: parts.persisted, plant: options.plant });
  // Older generations are upgraded on read, and units of older releases become today's unit set.
  const { units, init, vtl0 } = usermode(() => currentUnitSet(parts));
  // The host kept VTL0 memory (older snapshots: as their vmbus unit implies it); STATE_SCHEMA when the part is damaged.
  vm.units.vmbus.guest.restore(vtl0);
  const report = usermode(() => {
    vm.hv.restore(parts.hv); // the hypervisor hands the VP registers back before usermode rehydrates
    if (faultActive('restore-stuck')) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, timeoutMs + 20);
    // The NVMe manager is rebuilt from init_state.nvme_state before the state units restore.
    return vm.servicing.restore({ initState: init, units }, (i) => vm.units.nvme.restore(i.nvmeState?.nvmeState));
  });
  const elapsed = performance.now() - started;
  if (elapsed > timeoutMs) {
    throw new HclError('SERVICING_TIMEOUT', `servicing restore of ${snap.manifest.id.slice(0, 12)}: took ${Math.round(elapsed)} ms, past its ${timeoutMs} ms deadline; the restored vm was discarded`);
  }
  vm.units.partition.applyBootRoles(new Set(vm.kernel.online()));

  const again = captureVm(vm, { timeoutMs: 30_000, correlationId: parts.init.correlationId ?? info.correlationId });
  vm.servicing.resume();
  const differences = [
    ...proofDifferences(units, again.state.units, parts.hv, again.hv, { before: vtl0, after: again.vtl0 }),
    ...nvmeProof(init, again.state.initState, nvmeKeepAliveOn(vm.discovered.options)),
  ];
  // parts.hv passed hv.restore's schema check above, so it is a register file with its VP count.
  const inconsistencies = checkConsistency({
    saved: parts.observed.topology, savedVpCount: (parts.hv as HvState).vpCount, restored: vm.discovered.topology,
    nvme: vm.units.nvme.view(), vmbus: vm.units.vmbus.save(), linuxCpus: new Set(vm.kernel.online()), host: config, plant: options.plant,
  });
  return {
    vm, from: snap.manifest.id, info, overrides: applied, inconsistencies, topologyConsistent: inconsistencies.length === 0,
    outcome: { layer: 'oracle', kind: inconsistencies.length === 0 ? 'accepted-consistent' : 'accepted-inconsistent' },
    proof: { ok: differences.every((d) => d.allowed !== undefined), units: units.length, differences },
    restoredUnits: report.restored, defaultedUnits: report.defaulted,
  };
}

/** Runs openvmm_hcl's restore step; an HclError from it is a usermode error (context.layer), its code kept. */
function usermode<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (!isHclError(e)) throw e;
    throw new HclError(e.code, `openvmm_hcl restore failed (a usermode error, reported to the host): ${e.message}`, { cause: e, context: { ...e.context, layer: 'usermode' } });
  }
}

/** Unit-by-unit comparison of the restored snapshot and the state saved right after restore, plus the hv and vtl0 parts. */
export function proofDifferences(before: ServicingState['units'], after: ServicingState['units'], hvBefore: unknown, hvAfter: unknown, vtl0: { before: unknown; after: unknown }): ProofDifference[] {
  const out: ProofDifference[] = [];
  const afterBy = new Map(after.map((u) => [u.name, u.state]));
  const registry = defaultRegistry();
  for (const u of before) {
    const again = afterBy.get(u.name);
    // Compared as saved (per-VP bytes); only a unit that differs is decoded, to name its fields.
    if (sameValues(u.state, again)) continue;
    for (const c of diffValues(registry.view(u.name, u.state, again), registry.view(u.name, again, u.state))) out.push(difference(u.name, c));
  }
  // The register files compare as bytes; only when they differ are they decoded, to name registers.
  if (!sameTypedHv(hvBefore, hvAfter)) for (const c of diffValues(hvView(hvBefore), hvView(hvAfter))) out.push(difference('hv', c));
  // The ring positions in VTL0 memory must come back as they were handed over.
  for (const c of diffValues(vtl0.before, vtl0.after)) out.push(difference('vtl0', c));
  return out;
}

function difference(unit: string, c: Parameters<typeof changePath>[0]): ProofDifference {
  const path = changePath(c);
  const allowed = allowedChange(unit, path, c.from);
  return { unit, path, from: c.from, to: c.to, ...(allowed === undefined ? {} : { allowed }) };
}

/**
 * The NVMe manager's part of the proof: `init.nvmeState` restored against saved again. Only the
 * VP count of this boot (`cpu_count`) may differ; all of it when keep-alive changed with the
 * restore: off now (the manager saves nothing), or on now for a snapshot without NVMe state (its
 * controllers restarted fresh and are saved so).
 */
function nvmeProof(before: ServicingState['initState'], after: ServicingState['initState'], keepAlive: boolean): ProofDifference[] {
  const fresh = after.nvmeState?.nvmeState.nvmeDisks.every((d) => d.driverState.workerData.admin === undefined && d.driverState.workerData.io.length === 0);
  const whole = !keepAlive && after.nvmeState === undefined ? 'nvme keep-alive is off on this boot: the NVMe manager saves no state'
    : before.nvmeState === undefined && fresh === true ? 'the snapshot holds no NVMe state (keep-alive was off at save): the controllers restarted fresh' : undefined;
  return diffValues(before.nvmeState, after.nvmeState, 'nvmeState').map((c) => {
    const path = changePath(c);
    const allowed = whole ?? (path === 'nvmeState.nvmeState.cpuCount' ? 'the NVMe manager saves the VP count of this boot' : undefined);
    return { unit: 'init', path, from: c.from, to: c.to, ...(allowed === undefined ? {} : { allowed }) };
  });
}

/**
 * The IGVM a restore loads when none is given: the snapshot's own, unless an override changed
 * what lives inside the package (the measured static command line page and its policy). Then the
 * host builds the package again for the same usermode version — servicing to a new IGVM, as
 * changing the static command line of a real OpenHCL requires.
 */
function packageFor(config: VmConfig, info: SnapshotInfo, parts: ReturnType<typeof decodeParts>): Uint8Array {
  const was = info.config.cmdline;
  if (config.cmdline.static === was.static && config.cmdline.policy === was.policy) return parts.igvm;
  return buildPackage(packageOptionsFor(config, parts.observed.usermodeVersion));
}

/** Boots a config and runs a workload on it: the state a save starts from. */
export function bootWithWorkload(config: VmConfig, workload: WorkloadSpec | null, options: Partial<BootOptions> = {}): Vm {
  const vm = boot(config, options);
  if (workload !== null) runWorkload(vm.units, vm.hv, workload);
  return vm;
}
