import { HclError } from '../lib/errors.ts';
import type { SnapshotStore } from '../lib/store/index.ts';
import { listRuns, putRun } from './records.ts';
import type { PropRunRecord } from './runner.ts';

/**
 * `prop --merge`: the shards of one regression run, recorded in many stores (one per machine),
 * gathered into one store and one report. A run is a property with its run seed, run count and
 * shard count; its report says which shards are there, which are missing, and every failure by
 * the id its record keeps, so `prop --replay ID` on the merged store reproduces it.
 */

/** One property's regression run, put together from its shards' records. */
export interface MergedRun {
  property: string;
  runSeed: number;
  requestedRuns: number;
  shardCount: number;
  /** Shard indices (1-based) found, ascending; for an unsharded record, [1] of 1. */
  shards: number[];
  missing: number[];
  /** Runs the found shards executed. */
  runs: number;
  /** Sum of the shards' runs per second (they run on separate machines at once). */
  runsPerSecond: number;
  result: 'passed' | 'failed' | 'incomplete';
  failures: Array<{ id: string; shard: number; seed: number; path: string | null; counterexample: string | null }>;
}

/**
 * Groups records into runs. When a shard was recorded more than once (a retried CI job), the
 * latest record of it counts; the others stay in the store but not in the report.
 */
export function mergeRecords(records: readonly PropRunRecord[]): MergedRun[] {
  const groups = new Map<string, Map<number, PropRunRecord>>();
  for (const r of records) {
    const count = r.shard?.count ?? 1;
    // Records written before sharding existed carry no run seed: their seed is the run's.
    const key = JSON.stringify([r.property, r.runSeed ?? r.seed, r.requestedRuns, count]);
    const byShard = groups.get(key) ?? new Map<number, PropRunRecord>();
    groups.set(key, byShard);
    const index = r.shard?.index ?? 1;
    const seen = byShard.get(index);
    if (seen === undefined || seen.time < r.time || (seen.time === r.time && seen.id < r.id)) byShard.set(index, r);
  }
  const out: MergedRun[] = [];
  for (const [key, byShard] of groups) {
    const [property, runSeed, requestedRuns, shardCount] = JSON.parse(key) as [string, number, number, number];
    const found = [...byShard.values()].sort((a, b) => (a.shard?.index ?? 1) - (b.shard?.index ?? 1));
    const shards = found.map((r) => r.shard?.index ?? 1);
    // A shard past the run count holds none of the property's runs, so it is not missing.
    const expected = Math.min(shardCount, Math.max(1, requestedRuns));
    const missing = Array.from({ length: expected }, (_, i) => i + 1).filter((i) => !byShard.has(i));
    const failures = found.filter((r) => r.result === 'failed').map((r) => ({ id: r.id, shard: r.shard?.index ?? 1, seed: r.seed, path: r.path, counterexample: r.counterexample }));
    out.push({
      property, runSeed, requestedRuns, shardCount, shards, missing,
      runs: found.reduce((n, r) => n + r.runs, 0), runsPerSecond: found.reduce((n, r) => n + (r.runsPerSecond ?? 0), 0),
      result: failures.length > 0 ? 'failed' : missing.length > 0 ? 'incomplete' : 'passed', failures,
    });
  }
  return out.sort((a, b) => a.property.localeCompare(b.property) || a.runSeed - b.runSeed);
}

/** The fields a merge reads, checked, so a damaged or foreign record is a typed error, not a crash. */
function asRecord(store: SnapshotStore, id: string, x: unknown): PropRunRecord {
  const r = x as Partial<PropRunRecord> | null;
  const ok = typeof r === 'object' && r !== null && r.id === id && typeof r.property === 'string' && typeof r.time === 'string'
    && Number.isSafeInteger(r.seed) && Number.isSafeInteger(r.runs) && Number.isSafeInteger(r.requestedRuns) && (r.result === 'passed' || r.result === 'failed')
    && (r.shard === undefined || r.shard === null || (Number.isSafeInteger(r.shard.index) && Number.isSafeInteger(r.shard.count)));
  if (!ok) throw new HclError('STORE_CORRUPT', `store ${store.location}: run ${id} is not a property run record`);
  return r as PropRunRecord;
}

/** Copies every run record of `from` into `into` (same ids); returns the records copied. */
export async function copyRuns(from: SnapshotStore, into: SnapshotStore): Promise<PropRunRecord[]> {
  const records = (await listRuns(from)).map((r) => asRecord(from, r.id, r.record));
  for (const r of records) await putRun(into, r.id, r);
  return records;
}
