import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { JOURNAL_FILE, MARKER_FILE, SnapshotStore, openStore, storeDir } from '../../lib/store/index.ts';
import { storeConformance } from './conformance.ts';
import { chunkConformance } from './conformance-chunks.ts';
import { integrityConformance } from './conformance-integrity.ts';
import { partsOf, rejection, tempDir, withFault } from './helpers.ts';
import { resolveStoreDir } from '../../harness/commands/store.ts';

storeConformance('classic-level', async () => SnapshotStore.open({ dir: await tempDir() })).run();
chunkConformance('classic-level', async () => SnapshotStore.open({ dir: await tempDir() })).run();
integrityConformance('classic-level', async (o = {}) => SnapshotStore.open({ dir: await tempDir(), ...o })).run();

const run = promisify(execFile);
const storeIndex = resolve('lib/store/index.ts');

test('a second process on a locked store gets STORE_LOCKED with the path and a hint', async () => {
  const dir = await tempDir();
  const holder = await openStore(dir);
  try {
    const child = `import { openStore } from ${JSON.stringify(storeIndex)};
      try { await openStore(process.argv[1]); console.log('opened'); }
      catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child, dir]);
    const e = JSON.parse(stdout) as { code: string; message: string };
    assert.is(e.code, 'STORE_LOCKED');
    assert.ok(e.message.startsWith(`store ${dir}: locked by another`) && e.message.includes('--store DIR'), e.message);
  } finally {
    await holder.close();
  }
});

test('snapshots persist across close and reopen', async () => {
  const dir = await tempDir();
  const a = await openStore(dir);
  const { id } = await a.putSnapshot({ name: 'vm', parts: partsOf(1, 2) });
  await a.close();
  const b = await openStore(dir);
  try {
    assert.is((await b.getSnapshot('vm@1')).manifest.id, id);
    assert.is((await b.putSnapshot({ name: 'vm', parts: [] })).seq, 2);
  } finally {
    await b.close();
  }
});

test('store directory: --store, else HCLCKPT_STORE (read at the CLI edge only), else ./.hclckpt', () => {
  const prev = process.env['HCLCKPT_STORE'];
  try {
    process.env['HCLCKPT_STORE'] = '/tmp/env-store';
    assert.is(storeDir(), resolve('.hclckpt'), 'lib/ does not read the environment');
    assert.is(resolveStoreDir({}), '/tmp/env-store');
    assert.is(resolveStoreDir({ store: 'rel' }), 'rel');
    assert.is(storeDir('rel'), resolve('rel'));
    delete process.env['HCLCKPT_STORE'];
    assert.is(resolveStoreDir({}), undefined);
  } finally {
    if (prev === undefined) delete process.env['HCLCKPT_STORE'];
    else process.env['HCLCKPT_STORE'] = prev;
  }
});

test('a path that cannot hold a store is STORE_IO naming it', async () => {
  const file = join(await tempDir(), 'plain-file');
  await (await import('node:fs/promises')).writeFile(file, 'x');
  const e = await rejection(() => openStore(join(file, 'sub')));
  assert.is(e.code, 'STORE_IO');
  assert.ok(e.message.startsWith(`store ${join(file, 'sub')}: cannot open`), e.message);
});

test('a failed rm puts its commit record back: a later loss of the snapshot is still reported', async () => {
  const s = await openStore(await tempDir());
  try {
    const { id } = await s.putSnapshot({ name: 'vm', parts: partsOf(1) });
    assert.is((await withFault('store-write-fail', () => rejection(() => s.remove('vm')))).code, 'STORE_WRITE_FAILED');
    assert.equal((await s.missing()).missing, []);
    await s.sub.manifests.del(new TextEncoder().encode(id)); // lost behind the store's back
    assert.equal((await s.missing()).missing, [{ id, name: 'vm', seq: 1 }]);
    await s.putSnapshot({ name: 'vm', parts: partsOf(2) });
    await s.remove('vm@2');
    assert.equal((await s.missing()).missing.map((m) => m.seq), [1], 'a removed snapshot is not missing');
  } finally {
    await s.close();
  }
});

test('a marker or journal that is a FIFO or a symlink is STORE_CORRUPT, never opened (an open FIFO would block)', async () => {
  const { execFileSync } = await import('node:child_process');
  const { rm, symlink } = await import('node:fs/promises');
  for (const [file, make] of [
    [MARKER_FILE, 'fifo'], [MARKER_FILE, 'symlink'], [JOURNAL_FILE, 'fifo'], [JOURNAL_FILE, 'symlink'],
  ] as const) {
    const dir = await tempDir();
    await (await openStore(dir)).close();
    await rm(join(dir, file), { force: true });
    if (make === 'fifo') execFileSync('mkfifo', [join(dir, file)]);
    else await symlink('/dev/zero', join(dir, file));
    const e = await rejection(async () => {
      const s = await openStore(dir, { readOnly: true });
      try {
        await s.verify();
      } finally {
        await s.close();
      }
    });
    assert.is(e.code, 'STORE_CORRUPT', `${file} ${make}`);
    assert.match(e.message, /is not a regular file|not a regular file/);
  }
});

test.run();
