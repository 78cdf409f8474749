import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { deleteRun, getRun, listRuns, putRun } from '../../properties/records.ts';
import { memoryStore } from '../../properties/vm.ts';

test('run records: put, get, list, delete; snapshots are untouched', async () => {
  const s = await memoryStore();
  try {
    const records: Array<[string, unknown]> = [['b', { seed: 2n, ok: false, steps: [1, 2] }], ['a', { seed: 1, bytes: new Uint8Array([1]) }]];
    for (const [id, r] of records) await putRun(s, id, r);
    assert.equal(await getRun(s, 'b'), records[0]?.[1]);
    assert.is(await getRun(s, 'zz'), undefined);
    assert.equal(await listRuns(s), [...records].reverse().map(([id, record]) => ({ id, record })));
    await deleteRun(s, 'a');
    assert.equal((await listRuns(s)).map((r) => r.id), ['b']);
    assert.equal(await s.list(), []);
    assert.equal((await s.verify()).problems, []);
  } finally {
    await s.close();
  }
});

test.run();
