import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isHclError } from '../../lib/errors.ts';
import { openStore } from '../../lib/store/index.ts';
import { copyRuns, mergeRecords } from '../../properties/merge.ts';
import { WorkerPool } from '../../properties/pool.ts';
import { putRun } from '../../properties/records.ts';
import { recordRuns, runProperties, sharePlan, shares, type PropRunRecord } from '../../properties/runner.ts';
import { memoryStore } from '../../properties/vm.ts';
import { runCli } from '../cli.ts';

const dirs: string[] = [];
process.on('exit', () => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const scratch = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'hclckpt-shard-'));
  dirs.push(d);
  return d;
};

test('shards partition a run: every (seed, run) case in exactly one shard, whatever the worker count', () => {
  for (const runs of [1, 2, 7, 25, 100]) {
    for (const count of [1, 2, 3, 8]) {
      for (const workers of [1, 2, 3]) {
        const plans = Array.from({ length: count }, (_, i) => sharePlan(runs, 40, workers, { index: i + 1, count }));
        const all = plans.flat();
        assert.is(all.reduce((n, s) => n + s.runs, 0), runs, `${runs} runs, ${count} shards, ${workers} workers`);
        // A case is a run of one seed; no seed is shared, so no case runs twice.
        assert.is(new Set(all.map((s) => s.seed)).size, all.length, `${runs}/${count}/${workers}: seeds repeat`);
        assert.ok(all.every((s) => s.runs >= 1));
        assert.equal(plans, Array.from({ length: count }, (_, i) => sharePlan(runs, 40, workers, { index: i + 1, count })), 'deterministic');
        // Shards past the run count are empty; the others get a whole share each.
        assert.is(plans.filter((p) => p.length > 0).length, Math.min(runs, count));
      }
    }
  }
  // One shard is the unsharded run: seed + i per worker, as before.
  assert.equal(sharePlan(10, 5, 3), shares(10, 3, 5));
  assert.equal(sharePlan(10, 5, 1, { index: 2, count: 3 }), [{ runs: 3, seed: 6 }]);
  assert.equal(sharePlan(10, 5, 2, { index: 2, count: 3 }), [{ runs: 2, seed: 6 }, { runs: 1, seed: 9 }]);
});

test('a shard needs a seed and an index in 1..N', async () => {
  for (const [shard, seed, message] of [
    [{ index: 1, count: 2 }, undefined, 'prop --shard needs --seed'],
    [{ index: 0, count: 2 }, 1, 'prop --shard 0/2: want I/N with 1 <= I <= N'],
    [{ index: 3, count: 2 }, 1, 'prop --shard 3/2: want I/N'],
  ] as const) {
    const e = await runProperties({ only: 'codec-mutation', runs: 2, seed, workers: 1, maxVps: 8, shard }).then(() => null, (x: unknown) => x);
    assert.ok(isHclError(e) && e.code === 'USAGE' && e.message.includes(message), String(e));
  }
  for (const bad of ['0/2', '3/2', '1', 'a/b', '1/0']) {
    const r = await runCli('prop', '--shard', bad, '--seed', '1', '--store', join(scratch(), 's'));
    assert.is(r.status, 2, bad);
    assert.match(r.stderr, 'expected I/N with 1 <= I <= N');
  }
});

test('one warm pool serves every property of a run and outlives it when the caller owns it', async () => {
  const pool = new WorkerPool(2);
  try {
    const records = await runProperties({ only: undefined, runs: 4, seed: 11, workers: 2, maxVps: 8, pool });
    assert.ok(records.length >= 2);
    for (const r of records) assert.equal([r.result, r.runs, r.workers, r.runSeed, r.shard], ['passed', 4, 2, 11, null], r.property);
    for (const r of records) assert.is(r.runsPerSecond, r.ms > 0 ? (r.runs * 1000) / r.ms : 0, `${r.property}: runs/s is runs over its ms`);
    const [again] = await runProperties({ only: 'codec-mutation', runs: 6, seed: 12, workers: 2, maxVps: 8, pool });
    assert.equal([again?.runs, again?.workers], [6, 2], 'the pool still runs shares after a run');
  } finally {
    await pool.close();
  }
});

test('a worker that dies fails its share, and a pool with no worker left refuses more at once', async () => {
  const pool = new WorkerPool(1);
  try {
    // An unknown property throws inside the worker's message handler: the worker exits.
    const e = await pool.run('no-such-property', { numRuns: 1, seed: 1, maxVps: 8 }, () => undefined).then(() => null, (x: unknown) => x as Error);
    assert.match(e?.message ?? '', "property 'no-such-property': no such property");
    // Whether the worker's exit lands before this share (refused at once) or after it (the queued
    // share is refused then), it never waits for a worker that is gone.
    const again = await pool.run('codec-mutation', { numRuns: 1, seed: 1, maxVps: 8 }, () => undefined).then(() => null, (x: unknown) => x as Error);
    assert.is(again?.message, 'every property worker has exited');
  } finally {
    await pool.close();
  }
});

test('prop --workers 2 from the built package: the pool loads the built chunk, not the TypeScript', async () => {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const bin = new URL('../../bin/hclckpt.mjs', import.meta.url).pathname;
  const env = { ...process.env };
  delete env['NODE_OPTIONS']; // no tsx loader in the child: only dist/ can run
  const r = await promisify(execFile)(process.execPath, [bin, 'prop', '--only', 'codec-mutation', '--runs', '6', '--seed', '2', '--workers', '2', '--json', '--store', join(scratch(), 's')], { env });
  const [record] = JSON.parse(r.stdout) as PropRunRecord[];
  assert.equal([record?.result, record?.runs, record?.workers], ['passed', 6, 2]);
});

const rec = (over: Partial<PropRunRecord>): PropRunRecord => ({
  id: 'x', time: '2026-01-01T00:00:00.000Z', tool: '0.1.0', property: 'p', seed: 1, path: null, runs: 5, requestedRuns: 10, runSeed: 1,
  shard: null, runsPerSecond: 10, workers: 1, maxVps: 8, result: 'passed', counterexample: null, error: null, shrinks: 0, ms: 500, seam: null, ...over,
});

test('mergeRecords: shards group by property, seed, runs and shard count; missing shards and failures are reported; a retried shard counts once', () => {
  const runs = mergeRecords([
    rec({ id: 'a1', shard: { index: 1, count: 3 }, runs: 4 }),
    rec({ id: 'a2', shard: { index: 2, count: 3 }, runs: 3, seed: 2, result: 'failed', path: '0:1', counterexample: '[1]' }),
    rec({ id: 'a2-retry', shard: { index: 2, count: 3 }, runs: 3, seed: 2, time: '2026-01-02T00:00:00.000Z' }),
    rec({ id: 'b1', property: 'q', shard: { index: 1, count: 2 }, runs: 5 }),
    rec({ id: 'c', property: 'q', runSeed: 7, seed: 7, runs: 10, result: 'failed', path: '3', counterexample: '[2]' }),
  ]);
  assert.equal(runs.map((r) => [r.property, r.runSeed, r.shards, r.missing, r.runs, r.result]), [
    ['p', 1, [1, 2], [3], 7, 'incomplete'],
    ['q', 1, [1], [2], 5, 'incomplete'],
    ['q', 7, [1], [], 10, 'failed'],
  ]);
  assert.equal(runs[2]?.failures, [{ id: 'c', shard: 1, seed: 7, path: '3', counterexample: '[2]' }]);
  assert.is(runs[0]?.runsPerSecond, 20);
  const failedShard = mergeRecords([rec({ shard: { index: 1, count: 2 } }), rec({ id: 'f', shard: { index: 2, count: 2 }, result: 'failed', seed: 2, path: '1' })]);
  assert.equal([failedShard[0]?.result, failedShard[0]?.failures.map((f) => [f.id, f.shard])], ['failed', [['f', 2]]]);
  // A property with fewer runs than shards is complete with the shards that have runs.
  assert.is(mergeRecords([rec({ requestedRuns: 1, shard: { index: 1, count: 4 } })])[0]?.result, 'passed');
});

test('copyRuns refuses a record that is not a property run (STORE_CORRUPT), naming the run', async () => {
  const [from, into] = [await memoryStore(), await memoryStore()];
  try {
    await putRun(from, 'junk', { id: 'junk', property: 3 });
    const e = await copyRuns(from, into).then(() => null, (x: unknown) => x);
    assert.ok(isHclError(e) && e.code === 'STORE_CORRUPT' && e.message.includes('run junk is not a property run record'), String(e));
  } finally {
    await from.close();
    await into.close();
  }
});

test('hclckpt prop --merge: three shards in three stores make one report; the failure replays by its id from the merged store', async () => {
  const dir = scratch();
  // The CLI cannot plant a defect, so the shards run in-process (each on its own LevelDB store,
  // as three machines would) and the CLI merges and replays.
  const base = { only: 'store-model', runs: 150, seed: 3, workers: 1, maxVps: 8, plant: 'gc-drops-live-blob' as const };
  const sources = [1, 2, 3].map((i) => join(dir, `shard-${i}`));
  const byShard: PropRunRecord[] = [];
  for (const [i, src] of sources.entries()) {
    const records = await runProperties({ ...base, shard: { index: i + 1, count: 3 } });
    assert.is(records.length, 1);
    byShard.push(...records);
    const s = await openStore(src);
    try {
      await recordRuns(s, records);
    } finally {
      await s.close();
    }
  }
  // Each shard ran its own seed; one that held ran exactly its slice of the 150 runs.
  assert.equal(byShard.map((r) => [r.shard, r.runSeed]), [1, 2, 3].map((index) => [{ index, count: 3 }, 3]));
  for (const r of byShard.filter((x) => x.result === 'passed')) assert.equal([r.seed, r.runs], [2 + r.shard!.index, 50]);
  const failed = byShard.filter((r) => r.result === 'failed');
  assert.ok(failed.length > 0, 'the planted defect is found in some shard');
  const merged = join(dir, 'merged');
  const m = await runCli('prop', '--merge', ...sources, '--store', merged, '--json');
  assert.is(m.status, 1, m.stderr);
  assert.match(m.stderr, 'error PROPERTY_FAILED: prop --merge: store-model failed');
  const report = JSON.parse(m.stdout) as { copied: number; runs: Array<{ shards: number[]; missing: number[]; requestedRuns: number; failures: Array<{ id: string }> }> };
  assert.is(report.copied, 3);
  assert.is(report.runs.length, 1);
  assert.equal([report.runs[0]?.shards, report.runs[0]?.missing, report.runs[0]?.requestedRuns], [[1, 2, 3], [], 150]);
  assert.equal(report.runs[0]?.failures.map((f) => f.id), failed.map((r) => r.id));
  for (const f of failed) assert.match(m.stderr, `replay with: hclckpt prop --replay ${f.id} --store "${merged}"`);
  const replay = await runCli('prop', '--replay', failed[0]!.id, '--store', merged, '--json');
  assert.is(replay.status, 1, 'the merged record still fails on replay');
  assert.is((JSON.parse(replay.stdout) as { sameCounterexample: boolean }).sameCounterexample, true);

  // Two of three shards: incomplete, a failed check naming the missing shard.
  const part = await runCli('prop', '--merge', sources[0]!, sources[2]!, '--store', join(dir, 'part'));
  assert.is(part.status, 1);
  assert.match(part.stdout, /missing shards 2/);
  const self = await runCli('prop', '--merge', sources[0]!, '--store', sources[0]!);
  assert.equal([self.status, self.stderr.includes('error USAGE: prop --merge:') && self.stderr.includes('is both a source and the target')], [2, true]);
});

test.run();
