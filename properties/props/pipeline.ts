import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { applyOverrides } from '../../lib/config/overrides.ts';
import { topologyFromConfig, validateConfig, type VmConfig } from '../../lib/config/index.ts';
import { isHclError } from '../../lib/errors.ts';
import { compareTopology } from '../../lib/hcl/index.ts';
import { hostBootargs } from '../../lib/host/devicetree.ts';
import { readText } from '../../lib/abi/index.ts';
import { hostIsTrusted } from '../../lib/shim/cmdline.ts';
import { boot } from '../../harness/pipeline.ts';
import { bootWithWorkload, restoreSnapshot, saveVm } from '../../harness/servicing.ts';
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

/** restore(save(vm)) after a workload proves identical, unit by unit, and keeps the topology. */
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
      const diffs = compareTopology(vm.discovered.topology, r.vm.discovered.topology);
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
 * Topology-changing overrides are refused with TOPOLOGY_MISMATCH and the store is unchanged.
 * An override that makes the config invalid on its own (validateConfig fails before any
 * comparison) is refused earlier with CONFIG_INVALID; that is the only other accepted outcome.
 */
export const changingOverridesRefused = define({
  name: 'changing-overrides-refused',
  description: 'topology-changing overrides are refused (TOPOLOGY_MISMATCH, or CONFIG_INVALID for an invalid config) and the store is unchanged',
  defaultRuns: 10,
  seam: 'restore-writes-early',
  size: stepsSize,
  build: ({ maxVps, plant }) => fc.asyncProperty(arbWithChanging(maxVps), async ([config, workload, override]) => {
    const store = await memoryStore();
    try {
      const saved = await saveVm(bootWithWorkload(config, workload, { plant }), store, { workload, name: SNAPSHOT_NAME });
      const before = await storeIds(store);
      const sets = [setText(override)];
      let invalid = false;
      try {
        validateConfig(applyOverrides(config, sets).config);
      } catch (e) {
        if (!isHclError(e, 'CONFIG_INVALID')) throw e;
        invalid = true;
      }
      const want = invalid ? 'CONFIG_INVALID' : 'TOPOLOGY_MISMATCH';
      let got: unknown;
      try {
        await restoreSnapshot(store, saved.id, { sets, plant });
      } catch (e) {
        got = e;
      }
      if (got === undefined) fail(`override ${sets[0]} was accepted; expected ${want}`);
      if (!isHclError(got, want)) fail(`override ${sets[0]}: expected ${want}, got ${isHclError(got) ? `${got.code}: ${got.message}` : String(got)}`);
      const after = await storeIds(store);
      if (JSON.stringify(after) !== JSON.stringify(before)) fail('a refused restore changed the store');
    } finally {
      await store.close();
    }
  }),
});
