import { TOOL_VERSION } from '../lib/version.ts';
import { HclError } from '../lib/errors.ts';
import type { SnapshotStore } from '../lib/store/index.ts';
import type { NamedProperty } from './define.ts';
import { asPlant, type Plant } from '../lib/plant.ts';
import { listRuns, putRun } from './records.ts';
import { WorkerPool } from './pool.ts';
import { runShare, shares, type Share, type ShareSpec } from './share.ts';
import { SUITE, findProperty } from './suite.ts';
import { propMaxVps } from './vm.ts';

/**
 * The regression runner behind `hclckpt prop`: runs named properties outside uvu, spread over
 * a warm pool of worker threads when asked, or one deterministic shard of a run (`--shard I/N`)
 * so many machines can share it, and describes every run as a record the store keeps (seed,
 * path, counterexample, tool version) so a failure can be replayed later from its id.
 */

export { shares } from './share.ts';
export type { Share } from './share.ts';

/** What the store keeps about one run of one property. */
export interface PropRunRecord {
  id: string;
  time: string;
  /** hclckpt version that ran it. */
  tool: string;
  property: string;
  /** Seed of the (first failing) run; with `path`, what a replay needs. */
  seed: number;
  /** fast-check path of the shrunk counterexample; null when the property held. */
  path: string | null;
  /** Runs executed (all workers of this shard). */
  runs: number;
  /** Runs the whole regression run asked for (all shards). */
  requestedRuns: number;
  /** Seed of the whole regression run (shards and workers derive theirs from it). */
  runSeed: number;
  /** Which slice of the run this record is; null when the run was not sharded. */
  shard: Shard | null;
  /** Runs per second of wall-clock time over this record's `ms`. */
  runsPerSecond: number;
  workers: number;
  maxVps: number;
  result: 'passed' | 'failed';
  /** The shrunk counterexample, printed by fast-check. */
  counterexample: string | null;
  error: string | null;
  shrinks: number;
  ms: number;
  /** Planted defect (lib/plant.ts) of the run; a replay plants it again. */
  seam: string | null;
}

/** One slice (`index` of `count`, counted from 1 as CI matrices do) of a sharded regression run. */
export interface Shard { index: number; count: number }

/** Options of `runProperties`. */
export interface RunOptions {
  only: string | undefined;
  /** Runs per property; default each property's own count. */
  runs: number | undefined;
  seed: number | undefined;
  workers: number;
  maxVps: number;
  /** Progress: `done` predicate executions (runs and shrink steps) of `total` runs. */
  onProgress?: (property: string, done: number, total: number) => void;
  /** A defect planted in every run (tests only; the CLI never sets it). */
  plant?: Plant;
  /** Run only this slice of the run (the same seed on every shard). */
  shard?: Shard;
  /** Warm workers to use when `workers` > 1; otherwise a pool is started for this call and stopped after it. */
  pool?: WorkerPool;
}

/**
 * The shares one property's run is made of: the run's `shares` over the shard count, this
 * shard's one, split again over the workers with seeds stepping by the shard count, so no two
 * shares of any shard or worker share a seed (with one shard this is seed + i per worker).
 */
export function sharePlan(runs: number, seed: number, workers: number, shard: Shard = { index: 1, count: 1 }): Array<{ runs: number; seed: number }> {
  const slice = shares(runs, shard.count, seed)[shard.index - 1];
  return slice === undefined ? [] : shares(slice.runs, workers, slice.seed, shard.count);
}

/**
 * Runs one property (its shard's slice when sharded) and merges the shares: one share in this
 * thread, several on `o.pool` (or on a pool started for this call).
 */
export async function runOne(p: NamedProperty, o: Omit<RunOptions, 'only'>): Promise<PropRunRecord> {
  const requestedRuns = o.runs ?? p.defaultRuns;
  const runSeed = o.seed ?? (Date.now() ^ (Math.random() * 0x7fff_ffff)) | 0;
  const plan = sharePlan(requestedRuns, runSeed, o.workers, o.shard);
  const first = plan[0];
  if (first === undefined) throw new HclError('USAGE', `prop: shard ${o.shard?.index}/${o.shard?.count} has no runs of ${p.name} (${requestedRuns} runs)`);
  let done = 0;
  const total = plan.reduce((n, s) => n + s.runs, 0);
  const tick = () => o.onProgress?.(p.name, ++done, total);
  const start = performance.now();
  const planted = o.plant === undefined ? {} : { plant: o.plant };
  const spec = (s: { runs: number; seed: number }): ShareSpec => ({ numRuns: s.runs, seed: s.seed, maxVps: o.maxVps, ...planted });
  const pool = plan.length === 1 ? undefined : (o.pool ?? new WorkerPool(plan.length));
  let results: Share[];
  try {
    results = pool === undefined ? [await runShare(p, spec(first), tick)] : await Promise.all(plan.map((s) => pool.run(p.name, spec(s), tick)));
  } finally {
    if (pool !== undefined && pool !== o.pool) await pool.close();
  }
  const failed = results.find((r) => r.failed);
  const ms = Math.round(performance.now() - start);
  const runs = results.reduce((n, r) => n + r.runs, 0);
  const time = new Date().toISOString();
  const shard = o.shard ?? null;
  return {
    id: `${time.replace(/[-:.TZ]/g, '').slice(0, 14)}-${p.name}-${(runSeed >>> 0).toString(16)}${shard === null ? '' : `-s${shard.index}of${shard.count}`}`,
    time, tool: TOOL_VERSION, property: p.name, seed: failed?.seed ?? first.seed, path: failed?.path ?? null,
    runs, requestedRuns, runSeed, shard, runsPerSecond: ms > 0 ? (runs * 1000) / ms : 0, workers: plan.length, maxVps: o.maxVps,
    result: failed === undefined ? 'passed' : 'failed', counterexample: failed?.counterexample ?? null, error: failed?.error ?? null,
    shrinks: failed?.shrinks ?? 0, ms, seam: o.plant ?? null,
  };
}

/** Runs the selected properties (one, or the whole suite) one after the other, on one warm pool when `workers` > 1. */
export async function runProperties(o: RunOptions): Promise<PropRunRecord[]> {
  if (o.shard !== undefined && !(Number.isSafeInteger(o.shard.count) && Number.isSafeInteger(o.shard.index) && o.shard.index >= 1 && o.shard.index <= o.shard.count)) {
    throw new HclError('USAGE', `prop --shard ${o.shard.index}/${o.shard.count}: want I/N with 1 <= I <= N`);
  }
  if (o.shard !== undefined && o.seed === undefined) throw new HclError('USAGE', 'prop --shard needs --seed: every shard of a run must use the same seed');
  const selected = o.only === undefined ? SUITE : [findProperty(o.only)];
  const pool = o.workers > 1 ? (o.pool ?? new WorkerPool(o.workers)) : undefined;
  try {
    const out: PropRunRecord[] = [];
    // A shard past a property's run count (fewer runs than shards) has none of it.
    for (const p of selected) {
      if (o.seed === undefined || sharePlan(o.runs ?? p.defaultRuns, o.seed, 1, o.shard).length > 0) out.push(await runOne(p, { ...o, ...(pool === undefined ? {} : { pool }) }));
    }
    return out;
  } finally {
    if (pool !== undefined && pool !== o.pool) await pool.close();
  }
}

/** Replays a recorded run from its seed and path (planting its seam again) and returns the new outcome. */
export async function replayRecord(r: PropRunRecord): Promise<Share> {
  const plant = r.seam === null ? undefined : asPlant(r.seam);
  if (r.seam !== null && plant === undefined) throw new HclError('PROPERTY_REPLAY', `replay ${r.id}: the recorded planted defect '${r.seam}' no longer exists`);
  // A model-based counterexample carries the commands' own replay path next to fast-check's.
  const replayPath = /replayPath="([^"]*)"/.exec(r.counterexample ?? '')?.[1];
  const spec: ShareSpec = {
    numRuns: Math.max(1, r.runs), seed: r.seed, maxVps: r.maxVps,
    ...(r.path === null ? {} : { path: r.path }), ...(replayPath === undefined ? {} : { replayPath }), ...(plant === undefined ? {} : { plant }),
  };
  try {
    return await runShare(findProperty(r.property), spec, () => undefined);
  } catch (e) {
    throw new HclError('PROPERTY_REPLAY', `replay ${r.id}: fast-check cannot follow seed ${r.seed} path ${r.path ?? '-'}: ${(e as Error).message}`, { cause: e });
  }
}

/** Records runs in the store's run table. */
export async function recordRuns(store: SnapshotStore, records: PropRunRecord[]): Promise<void> {
  for (const r of records) await putRun(store, r.id, r);
}

/** The recorded run `id` (a unique prefix is enough); STORE_NOT_FOUND / STORE_AMBIGUOUS_REF otherwise. */
export async function findRun(store: SnapshotStore, id: string): Promise<PropRunRecord> {
  const all = (await listRuns(store)).filter((r) => r.id.startsWith(id));
  const exact = all.find((r) => r.id === id);
  if (exact !== undefined) return exact.record as PropRunRecord;
  if (all.length === 0) throw new HclError('STORE_NOT_FOUND', `store ${store.location}: no property run '${id}' (try hclckpt prop --list)`);
  if (all.length > 1) throw new HclError('STORE_AMBIGUOUS_REF', `store ${store.location}: '${id}' matches several runs: ${all.map((r) => r.id).join(', ')}`);
  return all[0]!.record as PropRunRecord;
}

/** Default VP cap of `hclckpt prop`: HCLCKPT_PROP_MAXVPS or 64. */
export const defaultMaxVps = (): number => propMaxVps();
