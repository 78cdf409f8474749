import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { findRun, recordRuns, replayRecord, runOne, shares, type PropRunRecord } from '../../properties/runner.ts';
import { storeModel } from '../../properties/props/store.ts';
import { codecMutation } from '../../properties/props/codecs.ts';
import { memoryStore } from '../../properties/vm.ts';
import { openStore } from '../../lib/store/index.ts';

const run = promisify(execFile);
const BIN = new URL('../../bin/hclckpt.mjs', import.meta.url).pathname;
const dirs: string[] = [];
process.on('exit', () => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const cases: Array<[number, number, number[]]> = [[10, 1, [10]], [10, 3, [4, 3, 3]], [2, 4, [1, 1]], [1, 2, [1]]];
for (const [runs, workers, want] of cases) {
  test(`shares: ${runs} runs over ${workers} workers`, () => {
    const s = shares(runs, workers, 100);
    assert.equal(s.map((x) => x.runs), want);
    assert.equal(s.map((x) => x.seed), want.map((_, i) => 100 + i), 'derived seeds seed + i');
  });
}

const opts = { runs: 8, seed: 5, workers: 1, maxVps: 8 };

test('runOne: a passing run is recorded with seed, runs and version, no path', async () => {
  const r = await runOne(storeModel, opts);
  assert.is(r.result, 'passed');
  assert.is(r.runs, 8);
  assert.is(r.seed, 5);
  assert.is(r.path, null);
  assert.match(r.tool, /^\d+\.\d+\.\d+/);
  assert.match(r.id, /store-model-5$/);
});

for (const [p, seed] of [[storeModel, 3], [codecMutation, 4]] as const) {
  test(`replay of a failing ${p.name} run reproduces the same counterexample`, async () => {
    const r = await runOne(p, { ...opts, runs: 200, seed, plant: p.seam });
    assert.is(r.result, 'failed');
    assert.ok(r.path !== null && r.counterexample !== null);
    assert.is(r.seam, p.seam);
    const again = await replayRecord(r); // plants the recorded seam itself
    assert.ok(again.failed);
    assert.is(again.counterexample, r.counterexample);
    assert.is((await replayRecord({ ...r, seam: null })).failed, false, 'without the defect the replayed case passes');
  });
}

test('replay of a record whose planted defect no longer exists is PROPERTY_REPLAY', async () => {
  const r = await runOne(storeModel, { ...opts, runs: 1 });
  const e = await replayRecord({ ...r, seam: 'no-such-defect' }).then(() => null, (x: unknown) => x as { code: string; message: string });
  assert.is(e?.code, 'PROPERTY_REPLAY');
  assert.match(e?.message ?? '', "planted defect 'no-such-defect' no longer exists");
});

test('runOne with 2 workers: runs are spread over threads and add up', async () => {
  const r = await runOne(codecMutation, { ...opts, runs: 40, workers: 2 });
  assert.is(r.result, 'passed');
  assert.is(r.workers, 2);
  assert.is(r.runs, 40);
});

test('recorded runs: found by id or unique prefix; unknown and ambiguous refs are errors', async () => {
  const store = await memoryStore();
  try {
    const base = await runOne(storeModel, { ...opts, runs: 2 });
    const records: PropRunRecord[] = [{ ...base, id: 'run-a1' }, { ...base, id: 'run-a2' }, { ...base, id: 'run-b' }];
    await recordRuns(store, records);
    assert.is((await findRun(store, 'run-b')).id, 'run-b');
    assert.is((await findRun(store, 'run-a1')).id, 'run-a1');
    for (const [ref, code, message] of [['nope', 'STORE_NOT_FOUND', "no property run 'nope'"], ['run-a', 'STORE_AMBIGUOUS_REF', 'matches several runs: run-a1, run-a2']] as const) {
      const e = await findRun(store, ref).then(() => null, (x: unknown) => x as { code: string; message: string });
      assert.is(e?.code, code);
      assert.ok(e?.message.includes(message), e?.message);
    }
  } finally {
    await store.close();
  }
});

test('hclckpt prop: --list and --replay find a failing run recorded with its planted defect, and replay plants it again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hclckpt-prop-'));
  dirs.push(dir);
  // The CLI cannot plant a defect, so the failing run is made in-process (the plant passed down)
  // and recorded in a real store; the CLI's replay must plant the recorded defect again to fail.
  const failing = await runOne(storeModel, { ...opts, seed: 3, plant: 'gc-drops-live-blob' });
  assert.is(failing.result, 'failed');
  const store = await openStore(dir);
  try {
    await recordRuns(store, [failing]);
  } finally {
    await store.close();
  }
  const list = JSON.parse((await run(BIN, ['prop', '--list', '--json', '--store', dir])).stdout) as PropRunRecord[];
  assert.is(list.length, 1);
  assert.is(list[0]?.result, 'failed');
  assert.is(list[0]?.seam, 'gc-drops-live-blob');
  const replay = await run(BIN, ['prop', '--replay', list[0]?.id ?? '', '--json', '--store', dir]).then(() => null, (e: { code: number; stdout: string }) => e);
  assert.is(replay?.code, 1, 'a replay that still fails is a failed check');
  assert.is((JSON.parse(replay?.stdout ?? '{}') as { sameCounterexample?: boolean }).sameCounterexample, true);
  const bad = await run(BIN, ['prop', '--only', 'nope', '--store', dir]).then(() => null, (e: { code: number; stderr: string }) => e);
  assert.is(bad?.code, 2);
  assert.match(bad?.stderr ?? '', "error USAGE: property 'nope': no such property");
});

test.run();
