import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { isHclError } from '../../lib/errors.ts';
import { buildInitramfs, initScript, MARK } from '../../harness/realkernel/initramfs.ts';
import { findAssets, kernelCacheDir, requireAssets, setupKernel } from '../../harness/realkernel/setup.ts';

test('the cache dir is HCLCKPT_KERNEL_DIR, else ~/.cache/hclckpt/kernel', () => {
  assert.is(kernelCacheDir({ HCLCKPT_KERNEL_DIR: '/x/k' }), '/x/k');
  assert.match(kernelCacheDir({}), /\.cache\/hclckpt\/kernel$/);
});

test('an empty cache has no assets, and requireAssets says to run setup', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hclckpt-rk-'));
  try {
    assert.is(findAssets(dir), undefined);
    writeFileSync(join(dir, 'stamp.json'), JSON.stringify({ kernel: join(dir, 'gone'), initrd: join(dir, 'gone'), busybox: join(dir, 'gone') }));
    assert.is(findAssets(dir), undefined, 'a stamp whose files are gone does not count');
    assert.throws(() => requireAssets(dir), (e: unknown) => isHclError(e, 'KERNEL_SETUP_FAILED') && (e as Error).message.includes('run `hclckpt kernel setup` first'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('setup without apt fails with KERNEL_SETUP_FAILED naming the step', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hclckpt-rk-'));
  const path = process.env['PATH'];
  process.env['PATH'] = dir; // no qemu, no apt-get: the first apt step must fail
  try {
    await setupKernel({ dir });
    assert.unreachable('setup succeeded');
  } catch (e) {
    assert.ok(isHclError(e, 'KERNEL_SETUP_FAILED'), String(e));
    assert.match((e as Error).message, 'kernel setup: step "apt-get update" failed');
  } finally {
    process.env['PATH'] = path;
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Entries of a newc archive: name, mode, rdev and data. */
function readNewc(buf: Uint8Array): Array<{ name: string; mode: number; rdev: [number, number]; data: Buffer }> {
  const b = Buffer.from(buf);
  const out = [];
  let at = 0;
  const align = (n: number): number => (n + 3) & ~3;
  for (;;) {
    assert.is(b.toString('latin1', at, at + 6), '070701');
    const f = (i: number): number => parseInt(b.toString('latin1', at + 6 + i * 8, at + 14 + i * 8), 16);
    const nameLen = f(11);
    const size = f(6);
    const name = b.toString('latin1', at + 110, at + 110 + nameLen - 1);
    const dataAt = align(at + 110 + nameLen);
    if (name === 'TRAILER!!!') return out;
    out.push({ name, mode: f(1), rdev: [f(9), f(10)] as [number, number], data: b.subarray(dataAt, dataAt + size) });
    at = align(dataAt + size);
  }
}

test('the initramfs is gzip newc with busybox, /init and /dev/console', () => {
  const busybox = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1, 2, 3]);
  const gz = buildInitramfs(busybox);
  const entries = readNewc(gunzipSync(gz));
  const by = new Map(entries.map((e) => [e.name, e]));
  assert.equal(by.get('bin/busybox')?.data, Buffer.from(busybox));
  assert.is(by.get('bin/busybox')?.mode, 0o100755);
  assert.is(by.get('init')?.data.toString(), initScript());
  assert.is(by.get('init')?.mode, 0o100755);
  assert.equal(by.get('dev/console')?.rdev, [5, 1]);
  for (const d of ['proc', 'sys', 'dev']) assert.is(by.get(d)?.mode, 0o040755, d);
  assert.equal(buildInitramfs(busybox), gz, 'same inputs give the same bytes');
  const cpio = spawnSync('cpio', ['-it', '--quiet'], { input: gunzipSync(gz) });
  if (cpio.status === 0) assert.equal(cpio.stdout.toString().trim().split('\n'), entries.map((e) => e.name));
});

test('the init script prints every section the parser needs, then powers off', () => {
  const s = initScript();
  for (const name of ['cmdline', 'cpu/$f', 'node/$f', 'node/$nd/$f', 'meminfo', 'zoneinfo', 'dt-listing', 'dt/$f', 'fdt']) {
    assert.ok(s.includes(` ${name} `), name);
  }
  assert.ok(s.includes(`\nM=${MARK}\n`), 'markers use the prefix the parser expects');
  const at = (t: string): number => {
    const i = s.indexOf(t);
    assert.ok(i >= 0, t);
    return i;
  };
  assert.ok(at('"$M:done"') < at('poweroff -f'));
  assert.ok(at('dmesg -n 1') < at('"$M:start"'), 'printk is silenced before any section');
});

test.run();
