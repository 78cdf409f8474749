import { TOOL_VERSION } from '../lib/version.ts';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import fc from 'fast-check';
import { HclError } from '../lib/errors.ts';
import type { SnapshotStore } from '../lib/store/index.ts';
import type { NamedProperty } from './define.ts';
import { asPlant, type Plant } from '../lib/plant.ts';
import { listRuns, putRun } from './records.ts';
import { SUITE, findProperty } from './suite.ts';
import { propMaxVps } from './vm.ts';

/**
 * The regression runner behind `hclckpt prop`: runs named properties outside uvu, spread over
 * worker threads when asked, and describes every run as a record the store keeps (seed, path,
 * counterexample, tool version) so a failure can be replayed later from its id.
 */

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
  /** Runs executed (all workers). */
  runs: number;
  requestedRuns: number;
  workers: number;
  maxVps: number;
  result: 'passed' | 'failed';
  /** The shrunk counterexample, printed by fast-check. */
  counterexample: string | null;
  error: string | null;
  shrinks: number;
  ms: number;
  /** Planted defect (properties/seams.ts) of the run; a replay plants it again. */
  seam: string | null;
}

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
}

/** One worker's (or the main thread's) share, or a replay: fast-check's result reduced to plain data. */
export interface Share { failed: boolean; runs: number; seed: number; path: string | null; counterexample: string | null; error: string | null; shrinks: number }

/** What one share runs: its size and seed, the VP cap, and optionally a replay path or a planted defect. */
interface ShareSpec { numRuns: number; seed: number; maxVps: number; path?: string; replayPath?: string; plant?: Plant }

async function runShare(p: NamedProperty, spec: ShareSpec, onRun: () => void): Promise<Share> {
  const d = await p.run({ ...spec, onRun });
  return {
    failed: d.failed, runs: d.numRuns, seed: d.seed, path: d.failed ? d.counterexamplePath : null,
    counterexample: d.counterexample === null ? null : fc.stringify(d.counterexample),
    error: d.errorInstance === null ? null : String(d.errorInstance), shrinks: d.numShrinks,
  };
}

/**
 * Runs a share in a worker thread that loads this module: the built JS as is, or the TypeScript
 * source through tsx when running from source (tests, `npm run hclckpt`).
 */
function runInWorker(name: string, spec: ShareSpec, onRun: () => void): Promise<Share> {
  return new Promise((resolve, reject) => {
    // From source the worker registers tsx itself: `--import tsx` in execArgv is not honoured
    // when the parent registered tsx through its API.
    const self = JSON.stringify(import.meta.url);
    const boot = import.meta.url.endsWith('.ts')
      ? `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((t) => { t.register(); return import(${self}); })`
      : `import(${self})`;
    const w = new Worker(boot, { eval: true, workerData: { hclckptProp: true, name, spec } });
    w.on('message', (m: { tick?: number; share?: Share }) => {
      for (let i = 0; i < (m.tick ?? 0); i++) onRun();
      if (m.share !== undefined) resolve(m.share);
    });
    w.on('error', reject);
    w.on('exit', (code) => {
      if (code !== 0) reject(new Error(`property worker for ${name} exited with code ${code}`));
    });
  });
}

/** Splits `runs` over `workers` with derived seeds (seed + i); each share at least one run. */
export function shares(runs: number, workers: number, seed: number): Array<{ runs: number; seed: number }> {
  const n = Math.max(1, Math.min(workers, runs));
  return Array.from({ length: n }, (_, i) => ({ runs: Math.floor(runs / n) + (i < runs % n ? 1 : 0), seed: (seed + i) | 0 }));
}

/** Runs one property over `workers` threads (1: in this thread) and merges the shares. */
export async function runOne(p: NamedProperty, o: Omit<RunOptions, 'only'>): Promise<PropRunRecord> {
  const requestedRuns = o.runs ?? p.defaultRuns;
  const seed = o.seed ?? (Date.now() ^ (Math.random() * 0x7fff_ffff)) | 0;
  let done = 0;
  const tick = () => o.onProgress?.(p.name, ++done, requestedRuns);
  const start = performance.now();
  const plan = shares(requestedRuns, o.workers, seed);
  const planted = o.plant === undefined ? {} : { plant: o.plant };
  const results = o.workers <= 1
    ? [await runShare(p, { numRuns: requestedRuns, seed, maxVps: o.maxVps, ...planted }, tick)]
    : await Promise.all(plan.map((s) => runInWorker(p.name, { numRuns: s.runs, seed: s.seed, maxVps: o.maxVps, ...planted }, tick)));
  const failed = results.find((r) => r.failed);
  const time = new Date().toISOString();
  return {
    id: `${time.replace(/[-:.TZ]/g, '').slice(0, 14)}-${p.name}-${(seed >>> 0).toString(16)}`,
    time, tool: TOOL_VERSION, property: p.name, seed: failed?.seed ?? seed, path: failed?.path ?? null,
    runs: results.reduce((n, r) => n + r.runs, 0), requestedRuns, workers: plan.length, maxVps: o.maxVps,
    result: failed === undefined ? 'passed' : 'failed', counterexample: failed?.counterexample ?? null, error: failed?.error ?? null,
    shrinks: failed?.shrinks ?? 0, ms: Math.round(performance.now() - start), seam: o.plant ?? null,
  };
}

/** Runs the selected properties (one, or the whole suite) one after the other. */
export async function runProperties(o: RunOptions): Promise<PropRunRecord[]> {
  const selected = o.only === undefined ? SUITE : [findProperty(o.only)];
  const out: PropRunRecord[] = [];
  for (const p of selected) out.push(await runOne(p, o));
  return out;
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

// Worker entry: the same module, started by runInWorker with its share in workerData.
if (!isMainThread && (workerData as { hclckptProp?: boolean } | null)?.hclckptProp === true && parentPort !== null) {
  const { name, spec } = workerData as { name: string; spec: ShareSpec };
  const port = parentPort;
  let pending = 0;
  const flush = () => {
    if (pending > 0) port.postMessage({ tick: pending });
    pending = 0;
  };
  const timer = setInterval(flush, 100);
  const share = await runShare(findProperty(name), spec, () => void pending++);
  clearInterval(timer);
  flush();
  port.postMessage({ share });
}
