import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MARKER_FILE, openStore, repairStore } from '../../lib/store/index.ts';
import { partsOf, rejection, tempDir } from './helpers.ts';

async function storeOf(n: number): Promise<{ dir: string; ids: string[] }> {
  const dir = join(await tempDir(), 's');
  const s = await openStore(dir);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await s.putSnapshot({ name: 'vm', parts: partsOf(i) })).id);
  await s.close();
  return { dir, ids };
}

test('store repair adopts a store made before markers and reports every snapshot whole', async () => {
  const { dir, ids } = await storeOf(2);
  await rm(join(dir, MARKER_FILE));
  assert.is((await rejection(() => openStore(dir))).code, 'USAGE', 'without its marker the directory is not a store');
  const r = await repairStore(dir);
  assert.equal([r.whole.map((w) => w.id).sort(), r.damaged, r.gone, r.other], [[...ids].sort(), [], [], []]);
  assert.ok((await readdir(dir)).includes(MARKER_FILE));
  const s = await openStore(dir, { readOnly: true });
  assert.is((await s.list()).length, 2);
  await s.close();
});

test('store repair rewrites a damaged marker; a damaged blob is reported damaged, a lost snapshot gone', async () => {
  const { dir, ids } = await storeOf(3);
  await writeFile(join(dir, MARKER_FILE), 'something else\n');
  assert.is((await rejection(() => openStore(dir))).code, 'STORE_CORRUPT');
  // Damage through the store after the marker is back: one blob garbled, one manifest removed
  // behind the store's back (what a lost log record leaves).
  await repairStore(dir);
  const t = await openStore(dir);
  const m = await t.getManifest(ids[0] as string);
  await t.sub.blobs.put(new TextEncoder().encode(m.parts[0]?.sha256 ?? ''), new Uint8Array([9]));
  await t.sub.manifests.del(new TextEncoder().encode(ids[2]));
  await t.close();
  const r = await repairStore(dir);
  assert.equal(r.whole.map((w) => w.id), [ids[1]]);
  assert.equal(r.damaged.map((d) => [d.id, d.name, d.seq]), [[ids[0], 'vm', 1]]);
  assert.match(r.damaged[0]?.problems.join() ?? '', 'part p0: blob ');
  assert.equal(r.gone, [{ id: ids[2], name: 'vm', seq: 3 }]);
});

test('store repair refuses what is not a store, a missing directory and a locked store', async () => {
  const plain = await tempDir();
  await writeFile(join(plain, 'notes.txt'), 'x');
  const cases: Array<[string, string, string]> = [
    [plain, 'USAGE', `store ${plain}: neither a store marker nor LevelDB files here; nothing to repair`],
    [join(plain, 'missing'), 'STORE_NOT_FOUND', `store ${join(plain, 'missing')}: no snapshot store here`],
  ];
  for (const [dir, code, message] of cases) assert.equal(await rejection(() => repairStore(dir)), { code, message });
  assert.equal(await readdir(plain), ['notes.txt']);
  const { dir } = await storeOf(1);
  const holder = await openStore(dir);
  try {
    assert.is((await rejection(() => repairStore(dir))).code, 'STORE_LOCKED');
  } finally {
    await holder.close();
  }
});

test.run();
