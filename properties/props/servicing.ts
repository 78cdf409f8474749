import fc from 'fast-check';
import type { VmConfig } from '../../lib/config/index.ts';
import { nvmeInterruptState, nvmeIoQueues, nvmeKeepAliveOn } from '../../lib/hcl/index.ts';
import { buildPackage, packageOptionsFor } from '../../lib/host/index.ts';
import { parseCpuList } from '../../lib/kernel/index.ts';
import { readText, sidecarStartedVps } from '../../lib/abi/index.ts';
import { SIDECAR_MAX_NODE_CPUS } from '../../lib/shim/index.ts';
import type { Vm } from '../../harness/pipeline.ts';
import { bootWithWorkload, restoreSnapshot, saveVm } from '../../harness/servicing.ts';
import { runWorkload } from '../../harness/workload.ts';
import { arbPreservingOverride } from '../arbitraries.ts';
import { define } from '../define.ts';
import { resaveMismatches } from '../resave.ts';
import { arbBootableConfig, memoryStore } from '../vm.ts';
import { SNAPSHOT_NAME, restoredTopologyDiffs, setText } from './pipeline.ts';

/** The servicing properties: many servicing cycles, and the sidecar split. */

const fail = (what: string): never => {
  throw new Error(what);
};

const arbCycle = (config: VmConfig) =>
  fc.record({
    workload: fc.record({ seed: fc.nat(0xffff_ffff), steps: fc.nat(40) }),
    overrides: fc.array(arbPreservingOverride(config), { maxLength: 2 }),
    service: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  });

const arbCycles = (maxVps: number) =>
  arbBootableConfig({ maxVps, serviceable: true }).chain((config) => fc.tuple(fc.constant(config), fc.array(arbCycle(config), { minLength: 1, maxLength: 4 })));

/**
 * k cycles of workload → save → restore, with preserving overrides and sometimes servicing
 * to an IGVM of another usermode version: the topology never changes, every restore proves,
 * and the running usermode version is the last one serviced to. Its planted defect (passed down)
 * makes a restored VM persist a short partition map, which the next restore's shim panics on.
 */
export const servicingCycles = define({
  name: 'servicing-cycles',
  description: 'over k workload/save/restore cycles with overrides and servicing, topology never changes and every restore proves',
  defaultRuns: 5,
  seam: 'shim-persists-short-map',
  size: (ce) => ((ce[0] as unknown[])[1] as unknown[]).length,
  build: ({ maxVps, plant }) => fc.asyncProperty(arbCycles(maxVps), async ([config, cycles]) => {
    const store = await memoryStore();
    try {
      let vm = bootWithWorkload(config, null, { plant });
      const topology = vm.discovered.topology;
      let version = vm.usermodeVersion;
      for (const [k, cycle] of cycles.entries()) {
        runWorkload(vm.units, vm.hv, cycle.workload);
        const saved = await saveVm(vm, store, { name: SNAPSHOT_NAME, workload: cycle.workload });
        const sets = cycle.overrides.map(setText);
        let igvm: Uint8Array | undefined;
        if (cycle.service) {
          version = `9.${k}.${cycle.workload.seed % 100}`;
          igvm = buildPackage(packageOptionsFor(vm.config, version));
        }
        const r = await restoreSnapshot(store, saved.id, { sets, plant, ...(igvm === undefined ? {} : { igvm }) });
        const where = `cycle ${k + 1}/${cycles.length}`;
        if (!r.proof.ok) fail(`${where}: restore proof failed: ${r.proof.differences.filter((d) => d.allowed === undefined).map((d) => `${d.unit} ${d.path}`).slice(0, 3).join('; ')}`);
        // Overrides and servicing change what the init state and IGVM record; without them the
        // restored VM must save again exactly what the snapshot holds.
        const resaved = sets.length === 0 && !cycle.service ? await resaveMismatches(store, saved.id, r.vm) : [];
        if (resaved.length > 0) fail(`${where}: restored vm saves other state than the snapshot: ${resaved.join('; ')}`);
        const diffs = restoredTopologyDiffs(topology, r.vm.discovered.topology);
        if (diffs.length > 0) fail(`${where}: topology changed: ${diffs.slice(0, 3).join('; ')}`);
        if (r.vm.usermodeVersion !== version) fail(`${where}: usermode version ${r.vm.usermodeVersion}, expected ${version}`);
        vm = r.vm;
      }
    } finally {
      await store.close();
    }
  }),
});

/** The sidecar-split invariants of one booted VM; returns the first violation or null. */
export function sidecarViolation(vm: Vm): string | null {
  const vps = vm.discovered.topology.vps;
  const linux = new Set(vm.kernel.online());
  const bootCpus = /(?:^| )boot_cpus=([0-9,-]*)/.exec(readText(vm.kernel.procfs, '/proc/cmdline'))?.[1];
  const sc = vm.shim.sidecar;
  if (sc === undefined) {
    if (bootCpus !== undefined) return `sidecar off but the command line has boot_cpus=${bootCpus}`;
    return linux.size === vps.length ? null : `sidecar off but only ${linux.size} of ${vps.length} VPs are online`;
  }
  const inSidecar = new Set(sidecarStartedVps(sc.params));
  for (const v of vps) {
    if (linux.has(v.index) === inSidecar.has(v.index)) return `vp ${v.index} is ${linux.has(v.index) ? 'in both Linux and sidecar' : 'in neither Linux nor sidecar'}`;
  }
  const covered = new Array<number>(vps.length).fill(0);
  for (const n of sc.nodes) {
    if (n.vpCount < 1 || n.vpCount > SIDECAR_MAX_NODE_CPUS) return `sidecar node at vp ${n.baseVp} holds ${n.vpCount} VPs (1..${SIDECAR_MAX_NODE_CPUS})`;
    if (!linux.has(n.baseVp)) return `base vp ${n.baseVp} of a sidecar node is not in Linux`;
    for (let i = n.baseVp; i < n.baseVp + n.vpCount; i++) {
      if (vps[i]?.vnode !== n.vnode) return `vp ${i} (vnode ${vps[i]?.vnode}) sits in the sidecar node of vnode ${n.vnode}`;
      covered[i] = (covered[i] ?? 0) + 1;
    }
  }
  // Every node has a VP for sidecar to start (sidecar.rs sidecar_node_is_empty); nodes never
  // overlap; a VP outside every node (a skipped one-CPU or all-excluded chunk) is Linux's.
  const empty = sc.nodes.find((n) => !Array.from({ length: n.vpCount }, (_, k) => inSidecar.has(n.baseVp + k)).some(Boolean));
  if (empty !== undefined) return `sidecar node at vp ${empty.baseVp} has no VP for sidecar to start`;
  const odd = covered.findIndex((c, vp) => c > 1 || (c === 0 && !linux.has(vp)));
  if (odd >= 0) return `vp ${odd} belongs to ${covered[odd]} sidecar nodes${covered[odd] === 0 ? ' and is not in Linux' : ''}`;
  const want = [...linux].sort((a, b) => a - b);
  if (bootCpus === undefined) return 'sidecar on but the command line has no boot_cpus=';
  if (parseCpuList(bootCpus).join() !== want.join()) return `boot_cpus=${bootCpus} but Linux runs ${want.join(',')}`;
  return null;
}

const arbSidecarCase = (maxVps: number) =>
  fc.tuple(
    // Controller 0 gets room for the pinned queues, so a counterexample never depends on the workload's own I/O.
    arbBootableConfig({ maxVps, arch: 'x86_64', serviceable: true }).filter((c) => c.devices.nvme.length > 0).map((c) => ({
      ...c,
      devices: { ...c.devices, nvme: c.devices.nvme.map((n, i) => (i === 0 ? { ...n, ioQueues: Math.max(n.ioQueues, 8), queueDepth: Math.max(n.queueDepth, 4) } : n)) },
    })),
    fc.record({ seed: fc.nat(0xffff_ffff), steps: fc.nat(120) }),
    fc.array(fc.nat(2047), { minLength: 1, maxLength: 3 }),
  );

/** Leaves one NVMe command in flight on a new I/O queue of controller 0 that targets `vp`. */
function pinIo(vm: Vm, vp: number): void {
  const nvme = vm.units.nvme;
  const ram = BigInt(vm.discovered.topology.nodes[0]?.memory[0]?.base ?? 0);
  if (nvme.view().controllers[0]?.admin === null) nvme.enable(0, ram + 4096n);
  if ((nvme.view().controllers[0]?.ioQueues.length ?? 0) >= nvme.maxIoQueues(0)) return;
  nvme.submit(0, nvme.createIoQueue(0, vp), 1);
}

/**
 * Sidecar split: each VP has exactly one role, the base VP of every sidecar node runs Linux,
 * nodes hold at most 32 VPs of one vnode and at least one sidecar VP, VPs outside every node run
 * Linux, boot_cpus= matches; and with NVMe keep-alive, CPUs with NVMe I/O in flight at save start
 * in Linux after restore.
 */
export const sidecarSplit = define({
  name: 'sidecar-split',
  description: 'sidecar split invariants hold at boot and after restore; CPUs with outstanding I/O start in Linux',
  defaultRuns: 8,
  seam: 'sidecar-ignores-outstanding-io',
  size: (ce) => ((ce[0] as unknown[])[1] as { steps: number }).steps + ((ce[0] as unknown[])[2] as number[]).length,
  build: ({ maxVps, plant }) => fc.asyncProperty(arbSidecarCase(maxVps), async ([config, workload, ioVps]) => {
    const vm = bootWithWorkload(config, workload, { plant });
    // CPU 0 boots Linux whatever the split, so a pin there tests nothing: pins go to the APs
    // (and to CPU 0 only on a one-VP VM).
    const aps = config.vps.length - 1;
    for (const v of ioVps) pinIo(vm, aps > 0 ? 1 + (v % aps) : 0);
    const atBoot = sidecarViolation(vm);
    if (atBoot !== null) fail(`at boot: ${atBoot}`);
    // The persisted interrupt state exists only with NVMe keep-alive (dispatch/mod.rs passes
    // init_state.nvme_state, which is None without it); admin queues do not count.
    const busy = nvmeInterruptState(nvmeIoQueues(vm.units.nvme.save(nvmeKeepAliveOn(vm.discovered.options)))).cpusWithOutstandingIo;
    const store = await memoryStore();
    try {
      const saved = await saveVm(vm, store, { name: SNAPSHOT_NAME, workload });
      const r = await restoreSnapshot(store, saved.id, { plant });
      if (!r.proof.ok) fail('restore proof failed');
      const resaved = await resaveMismatches(store, saved.id, r.vm);
      if (resaved.length > 0) fail(`restored vm saves other state than the snapshot: ${resaved.join('; ')}`);
      const after = sidecarViolation(r.vm);
      if (after !== null) fail(`after restore: ${after}`);
      const online = new Set(r.vm.kernel.online());
      const left = busy.filter((cpu) => !online.has(cpu));
      if (left.length > 0) fail(`cpus ${left.join(',')} had NVMe I/O in flight at a keep-alive save but start in sidecar after restore`);
    } finally {
      await store.close();
    }
  }),
});
