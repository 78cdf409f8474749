import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { runCli } from '../cli.ts';
import { join, resolve } from 'node:path';
import { openStore } from '../../lib/store/index.ts';
import { keyOf } from '../../lib/store/keys.ts';
import { partsOf, tempDir } from './helpers.ts';

const bin = resolve('bin/hclckpt.mjs');

const cli = runCli;

test('ls, verify, export, import, rm and gc through the command line', async () => {
  const [dir, other, files] = [await tempDir(), await tempDir(), await tempDir()];
  const s = await openStore(dir);
  const a = await s.putSnapshot({ name: 'vm', parts: partsOf(1, 2), info: { generation: 3 } });
  const b = await s.putSnapshot({ name: 'vm', parts: partsOf(1, 4) });
  await s.close();

  const ls = await cli('ls', '--store', dir, '--json');
  assert.is(ls.status, 0, ls.stderr);
  const rows = JSON.parse(ls.stdout) as Array<{ id: string; seq: number; generation: unknown }>;
  assert.equal(rows.map((r) => [r.id, r.seq, r.generation]), [[a.id, 1, 3], [b.id, 2, null]]);
  const table = await cli('ls', '--store', dir);
  assert.ok(table.stdout.includes(a.id.slice(0, 12)) && table.stdout.includes('vm@2'), table.stdout);

  assert.is((await cli('verify', '--store', dir)).status, 0);
  const file = join(files, 'vm1.hclsnap');
  assert.is((await cli('export', 'vm@1', file, '--store', dir)).status, 0);
  const imp = await cli('import', file, '--store', other, '--json');
  assert.is(imp.status, 0, imp.stderr);
  assert.equal((JSON.parse(imp.stdout) as { id: string; imported: boolean }).imported, true);

  const rm = await cli('rm', b.id.slice(0, 8), '--store', dir, '--json');
  assert.equal(JSON.parse(rm.stdout), { id: b.id, names: ['vm@2'] });
  const gc = await cli('gc', '--store', dir, '--json');
  assert.equal((JSON.parse(gc.stdout) as { removedBlobs: number }).removedBlobs, 1);
});

test('verify exits 1 and names the damaged part; bad refs exit 2 with the error line', async () => {
  const dir = await tempDir();
  const s = await openStore(dir);
  const parts = partsOf(1, 2);
  const { id } = await s.putSnapshot({ name: 'vm', parts });
  const { sha256Hex } = await import('../../lib/bytes/index.ts');
  await s.sub.blobs.put(keyOf(sha256Hex((parts[0] as { bytes: Uint8Array }).bytes)), new Uint8Array([1]));
  await s.close();

  const v = await cli('verify', '--store', dir, '--json');
  assert.is(v.status, 1);
  assert.equal((JSON.parse(v.stdout) as { problems: Array<{ snapshot: string; part: string }> }).problems.map((p) => [p.snapshot, p.part]), [[id, 'p0']]);
  const missing = await cli('rm', 'nope', '--store', dir);
  assert.is(missing.status, 2);
  assert.ok(missing.stderr.startsWith('hclckpt: error STORE_NOT_FOUND: '), missing.stderr);
});

test('a locked store is STORE_LOCKED, exit 2', async () => {
  const dir = await tempDir();
  const holder = await openStore(dir);
  try {
    const r = spawnSync(process.execPath, [bin, 'ls', '--store', dir], { encoding: 'utf8' });
    assert.is(r.status, 2);
    assert.ok(r.stderr.includes(`error STORE_LOCKED: store ${dir}: locked`), r.stderr);
  } finally {
    await holder.close();
  }
});

test.run();
