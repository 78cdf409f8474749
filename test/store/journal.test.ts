import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { Journal } from '../../lib/store/journal.ts';
import { tempDir } from './helpers.ts';

const ID = (c: string) => c.repeat(64);

test('journal: records read back in order; the last record of a snapshot wins', async () => {
  const j = new Journal(await tempDir());
  assert.equal(await j.read(), { last: new Map(), damaged: [] }, 'a missing journal is empty');
  await j.append([{ op: 'commit', id: ID('a'), name: 'vm', seq: 1 }, { op: 'commit', id: ID('b'), name: 'vm', seq: 2 }]);
  await j.append([{ op: 'remove', id: ID('a'), name: 'vm', seq: 1 }]);
  const { last, damaged } = await j.read();
  assert.equal(damaged, []);
  assert.equal([...last.values()], [{ op: 'remove', id: ID('a'), name: 'vm', seq: 1 }, { op: 'commit', id: ID('b'), name: 'vm', seq: 2 }]);
});

test('journal: a changed byte, a torn last line and a foreign line are reported by line number, the rest still read', async () => {
  const j = new Journal(await tempDir());
  await j.append([1, 2, 3].map((seq) => ({ op: 'commit' as const, id: ID(String(seq)), name: 'vm', seq })));
  const text = await readFile(j.file, 'utf8');
  // Line 2's seq 2 → 7: its check no longer matches. Then a torn append and a stray line.
  await writeFile(j.file, text.replace(' vm 2 ', ' vm 7 '));
  await appendFile(j.file, 'not a record\ncommit 12');
  const { last, damaged } = await j.read();
  assert.equal(damaged, [2, 4, 5]);
  assert.equal([...last.keys()], [ID('1'), ID('3')]);
});

test('journal: a journal that is not a regular file or is over the limit is STORE_CORRUPT', async () => {
  const dir = await tempDir();
  const { mkdir } = await import('node:fs/promises');
  const j = new Journal(dir);
  await mkdir(j.file);
  const e = await j.read().then(() => null, (x: unknown) => x as { code: string; message: string });
  assert.equal([e?.code, e?.message], ['STORE_CORRUPT', `store journal ${j.file}: not a regular file`]);
  const w = await j.append([{ op: 'commit', id: ID('a'), name: 'vm', seq: 1 }]).then(() => null, (x: unknown) => x as { code: string });
  assert.is(w?.code, 'STORE_WRITE_FAILED');
});

test.run();
