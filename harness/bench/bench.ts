import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, totalmem, tmpdir, type as osType, release } from 'node:os';
import { join } from 'node:path';
import { readFdt } from '../../lib/fdt/index.ts';
import { hostParamsFor } from '../../lib/host/index.ts';
import { openStore } from '../../lib/store/index.ts';
import { HclError } from '../../lib/errors.ts';
import { scaledConfig } from './config.ts';
import { clearDir, jsonPeer, openRawLevel, rawFdt, rawLevel, rawMsgpack, type BaselineState } from './baselines.ts';
import { cliStartTimes } from './cli.ts';
import { boot, type Vm } from '../pipeline.ts';
import { bootWithWorkload, captureVm, restoreSnapshot, saveVm } from '../servicing.ts';
import { encodeParts } from '../../lib/snapshot/index.ts';
import { runWorkload, type WorkloadSpec } from '../workload.ts';

/**
 * `hclckpt bench`: boot, save, restore (with its proof) and a whole save+restore cycle at several
 * VP counts, each the median of repeated runs after warm-up, beside baselines measured in the same
 * run on the same state (bench-baselines.ts). Ratios are hclckpt ÷ baseline; lower is better.
 */

/** A measured stage; `raw` is the sum of the three raw primitives' medians. */
export type BenchStage = 'boot' | 'save' | 'restore' | 'cycle' | 'raw' | 'raw.msgpack' | 'raw.level' | 'raw.fdt' | 'json';

/** One stage at one VP count. */
export interface BenchCase {
  stage: BenchStage;
  vps: number;
  /** Median of `runs` (ms). */
  ms: number;
  /** Every measured run after warm-up (ms). */
  runs: number[];
  /**
   * Bytes the stage produced: for save, what one snapshot occupies in an empty store (its stored
   * blobs after chunking and compression, plus the manifest); for json, the JSON files' bytes.
   */
  bytes?: number;
}

/** The headline ratios (hclckpt ÷ baseline); null where this run did not measure what it needs. */
export interface BenchRatios {
  cycleVsRaw: number;
  cycleVsJson: number;
  bytesVsJson: number;
  scaling: number | null;
  incremental: number;
  /** `hclckpt --version` ÷ `node -e 0`, cold processes. */
  cliStart: number | null;
  /** `hclckpt ls` on a one-snapshot store ÷ `node -e 0`. */
  cliLs: number | null;
}

/** The performance goals (each ratio at most this). Reported, never asserted. */
export const BENCH_GOALS: Readonly<Record<keyof BenchRatios, number>> = {
  cycleVsRaw: 2.0, cycleVsJson: 0.25, bytesVsJson: 0.5, scaling: 1.15, incremental: 0.05, cliStart: 2.5, cliLs: 3,
};

/** What to measure. */
export interface BenchOptions {
  vps: number[];
  reps: number;
  warmup: number;
  /** Runs per process for the CLI start ratio; 0 skips it. */
  cliRuns: number;
  /** Guest activity before each save. */
  workload: WorkloadSpec;
  /** Seeds of the one-step workloads behind `incremental`. */
  incrementalSeeds: number[];
  /** Progress lines (stderr in the CLI). */
  log: (line: string) => void;
}

/** The machine a bench ran on. */
export interface MachineInfo { cpu: string; cores: number; memoryGiB: number; os: string; node: string }

/** A whole bench run. */
export interface BenchResult {
  cases: BenchCase[];
  ratios: BenchRatios;
  goals: Array<{ ratio: keyof BenchRatios; value: number | null; goal: number; met: boolean | null }>;
  /** VP count the per-VM ratios are taken at (the largest measured). */
  headlineVps: number;
  /** [large, small] VP counts behind `scaling` (large = 8 × small), or null. */
  scalingPair: [number, number] | null;
  /** Per seed: bytes a second snapshot after one workload step added ÷ full snapshot bytes. */
  incrementalRuns: number[];
  cliStartMs: { hclckptVersion: number; hclckptLs: number; nodeE0: number } | null;
  machine: MachineInfo;
  options: { vps: number[]; reps: number; warmup: number; cliRuns: number; workload: WorkloadSpec };
}

/** Defaults: full runs 4, 64, 256 (for scaling), 512 and 2048 VPs; quick skips 2048 and takes scaling from 512 ÷ 8 × 64. */
export function benchOptions(quick: boolean, log: (line: string) => void = () => {}): BenchOptions {
  return {
    vps: quick ? [4, 64, 512] : [4, 64, 256, 512, 2048],
    reps: quick ? 3 : 7,
    warmup: 1,
    cliRuns: quick ? 3 : 7,
    workload: { seed: 1, steps: 100 },
    incrementalSeeds: quick ? [1, 2, 3] : [1, 2, 3, 4, 5, 6, 7],
    log,
  };
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new TypeError('median of an empty list');
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Runs `run` warm-up + reps times; each call returns its own measured ms (setup stays outside). */
async function measure(o: BenchOptions, run: () => Promise<number> | number): Promise<number[]> {
  for (let i = 0; i < o.warmup; i++) await run();
  const out: number[] = [];
  for (let i = 0; i < Math.max(1, o.reps); i++) out.push(await run());
  return out;
}

async function timeIt(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** The saved state of `vm` as the baselines see it (the VM runs on afterwards). */
export function baselineState(vm: Vm): BaselineState {
  const saved = captureVm(vm, { timeoutMs: 600_000, correlationId: randomUUID() });
  vm.servicing.resume();
  const parts = encodeParts(saved.state, saved.unitMeta, saved.hv, saved.persisted, vm.igvm);
  return {
    objects: [
      { name: 'info', value: { config: vm.config, igvmDigest: vm.igvmDigest, cmdline: vm.discovered.cmdline } },
      { name: 'init', value: saved.state.initState },
      ...saved.state.units.map((u) => ({ name: `unit/${u.name}`, value: u.state })),
      { name: 'hv', value: saved.hv },
      { name: 'persisted', value: saved.persisted },
    ],
    bytes: [{ name: 'igvm', value: vm.igvm }],
    parts,
    trees: [readFdt(hostParamsFor(vm.config).hostDtb), vm.kernel.fdt],
  };
}

/** Measures every stage and baseline at one VP count, in `dir`. */
async function benchVps(o: BenchOptions, vps: number, dir: string): Promise<BenchCase[]> {
  const config = scaledConfig(vps);
  const cases: BenchCase[] = [];
  const add = (stage: BenchStage, runs: number[], bytes?: number, ms = median(runs)) => {
    cases.push({ stage, vps, ms, runs, ...(bytes === undefined ? {} : { bytes }) });
    o.log(`bench ${vps} vps ${stage}: ${ms.toFixed(1)} ms`);
  };
  let n = 0;
  const freshStore = () => openStore(join(dir, `store-${n++}`));

  add('boot', await measure(o, () => timeIt(() => boot(config))));
  const vm = bootWithWorkload(config, o.workload);

  let snapshotBytes = 0;
  add('save', await measure(o, async () => {
    const store = await freshStore();
    try {
      const t0 = performance.now();
      const r = await saveVm(vm, store, { workload: o.workload, timeoutMs: 600_000 });
      const ms = performance.now() - t0;
      snapshotBytes = await store.storedSize(r.id);
      return ms;
    } finally {
      vm.servicing.resume();
      await store.close();
    }
  }), snapshotBytes);

  const store = await freshStore();
  const { id } = await saveVm(vm, store, { workload: o.workload, timeoutMs: 600_000 });
  vm.servicing.resume();
  add('restore', await measure(o, async () => {
    let ok = false;
    const ms = await timeIt(async () => { ok = (await restoreSnapshot(store, id)).proof.ok; });
    if (!ok) throw new HclError('RESTORE_PROOF_FAILED', `bench ${vps} vps: restore proof failed`);
    return ms;
  }));
  await store.close();

  add('cycle', await measure(o, async () => {
    const s = await freshStore();
    try {
      return await timeIt(async () => {
        const r = await saveVm(vm, s, { workload: o.workload, timeoutMs: 600_000 });
        await restoreSnapshot(s, r.id);
      });
    } finally {
      vm.servicing.resume();
      await s.close();
    }
  }));

  const state = baselineState(vm);
  const level = await openRawLevel(join(dir, 'raw-level'));
  let k = 0;
  const msgpack = await measure(o, () => timeIt(() => rawMsgpack(state)));
  const lvl = await measure(o, () => timeIt(() => rawLevel(level, state, `r${k++}`)));
  const fdt = await measure(o, () => timeIt(() => rawFdt(state)));
  await level.close();
  add('raw.msgpack', msgpack);
  add('raw.level', lvl);
  add('raw.fdt', fdt);
  // The floor of one cycle: the primitives' medians summed (runs pair up rep by rep).
  add('raw', msgpack.map((m, i) => m + (lvl[i] ?? 0) + (fdt[i] ?? 0)), undefined, median(msgpack) + median(lvl) + median(fdt));

  let jsonBytes = 0;
  add('json', await measure(o, async () => {
    const d = join(dir, `json-${n++}`);
    const ms = await timeIt(async () => { jsonBytes = await jsonPeer(state, d); });
    await clearDir(d);
    return ms;
  }), jsonBytes);
  return cases;
}

/**
 * Per seed: the second snapshot's newBytes (uncompressed bytes of the blobs — whole parts or
 * chunks — it had to add after a one-step workload) ÷ the first snapshot's logical part bytes.
 */
async function incrementalRuns(o: BenchOptions, vps: number, dir: string): Promise<number[]> {
  const vm = bootWithWorkload(scaledConfig(vps), o.workload);
  const out: number[] = [];
  for (const seed of o.incrementalSeeds) {
    const store = await openStore(join(dir, `incremental-${seed}`));
    try {
      const first = await saveVm(vm, store, { timeoutMs: 600_000 });
      vm.servicing.resume();
      runWorkload(vm.units, vm.hv, { seed, steps: 1 });
      const second = await saveVm(vm, store, { parent: first.id, timeoutMs: 600_000 });
      vm.servicing.resume();
      out.push(second.newBytes / first.bytes);
    } finally {
      await store.close();
    }
  }
  return out;
}

function find(cases: readonly BenchCase[], stage: BenchStage, vps: number): BenchCase | undefined {
  return cases.find((c) => c.stage === stage && c.vps === vps);
}

/** The ratios from measured cases: per-VM ratios at `headline`, scaling from `pair` ([8n, n]). */
export function computeRatios(
  cases: readonly BenchCase[], headline: number, pair: [number, number] | null, incremental: readonly number[], cli: BenchResult['cliStartMs'],
): BenchRatios {
  const ms = (stage: BenchStage, vps: number): number => {
    const c = find(cases, stage, vps);
    if (c === undefined) throw new TypeError(`bench: no ${stage} case at ${vps} vps`);
    return c.ms;
  };
  const bytes = (stage: BenchStage): number => find(cases, stage, headline)?.bytes ?? Number.NaN;
  return {
    cycleVsRaw: ms('cycle', headline) / ms('raw', headline),
    cycleVsJson: ms('cycle', headline) / ms('json', headline),
    bytesVsJson: bytes('save') / bytes('json'),
    scaling: pair === null ? null : ms('cycle', pair[0]) / ((pair[0] / pair[1]) * ms('cycle', pair[1])),
    incremental: median(incremental),
    cliStart: cli === null ? null : cli.hclckptVersion / cli.nodeE0,
    cliLs: cli === null ? null : cli.hclckptLs / cli.nodeE0,
  };
}

/** The machine this process runs on. */
export function machineInfo(): MachineInfo {
  const c = cpus();
  return { cpu: c[0]?.model.trim() ?? 'unknown', cores: c.length, memoryGiB: Math.round(totalmem() / 2 ** 30), os: `${osType()} ${release()}`, node: process.version };
}

/** Runs the whole bench in a scratch directory that is removed afterwards. */
export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const vps = [...new Set(o.vps)].sort((a, b) => a - b);
  if (vps.length === 0) throw new HclError('USAGE', 'bench: no vp counts to measure');
  const dir = await mkdtemp(join(tmpdir(), 'hclckpt-bench-'));
  try {
    const cases: BenchCase[] = [];
    for (const n of vps) cases.push(...(await benchVps(o, n, join(dir, `vps-${n}`))));
    const headline = vps[vps.length - 1] as number;
    const pair: [number, number] | null = headline % 8 === 0 && vps.includes(headline / 8) ? [headline, headline / 8] : null;
    const inc = await incrementalRuns(o, headline, dir);
    const cliRuns = o.cliRuns > 0 ? await cliStartTimes(o.cliRuns, join(dir, 'cli-store')) : null;
    const cli = cliRuns === null ? null : { hclckptVersion: median(cliRuns.hclckptVersion), hclckptLs: median(cliRuns.hclckptLs), nodeE0: median(cliRuns.nodeE0) };
    const ratios = computeRatios(cases, headline, pair, inc, cli);
    const goals = (Object.keys(BENCH_GOALS) as Array<keyof BenchRatios>).map((ratio) => {
      const value = ratios[ratio];
      return { ratio, value, goal: BENCH_GOALS[ratio], met: value === null ? null : value <= BENCH_GOALS[ratio] };
    });
    return {
      cases, ratios, goals, headlineVps: headline, scalingPair: pair, incrementalRuns: inc, cliStartMs: cli, machine: machineInfo(),
      options: { vps, reps: o.reps, warmup: o.warmup, cliRuns: o.cliRuns, workload: o.workload },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
