import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isHclError } from '../../lib/errors.ts';
import { runCheck } from '../../harness/realkernel/check.ts';
import { FIXTURE_SHAPE, fixtureDtb } from './fixture.ts';

/** `kernel check --keep DIR` writes its files only as new or regular files, never through a planted link. */

const dir = mkdtempSync(join(tmpdir(), 'hclckpt-keep-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
// Assets that cannot boot: the refusal must come before qemu is ever started.
const assets = { dir, kernelPackage: 'none', kernel: join(dir, 'no-kernel'), initrd: join(dir, 'no-initrd'), busybox: join(dir, 'no-busybox') };

test('a symlink planted as model.dtb in the --keep directory is refused (FILE_NOT_REGULAR) and its target is untouched', async () => {
  const target = join(dir, 'victim');
  writeFileSync(target, 'precious\n');
  const keep = mkdtempSync(join(dir, 'keep-'));
  symlinkSync(target, join(keep, 'model.dtb'));
  const e = await runCheck({ dtb: fixtureDtb(), spec: FIXTURE_SHAPE, assets, keep, timeoutMs: 1000 }).then(() => null, (x: unknown) => x);
  assert.ok(isHclError(e) && e.code === 'FILE_NOT_REGULAR', String(e));
  assert.match((e as Error).message, 'model.dtb');
  assert.is(readFileSync(target, 'utf8'), 'precious\n');
});

test.run();
