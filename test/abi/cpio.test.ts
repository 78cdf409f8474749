import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { cpioFiles, readCpio, writeCpio, S_IFDIR } from '../../lib/abi/index.ts';
import { isHclError } from '../../lib/errors.ts';

const enc = new TextEncoder();
const FILES = new Map<string, Uint8Array>([
  ['init', enc.encode('#!/bin/sh\necho hi\n')],
  ['bin/busybox', Uint8Array.from({ length: 1001 }, (_, i) => i & 0xff)],
  ['etc/empty', new Uint8Array(0)],
  ['a/b/c/deep', enc.encode('x')],
]);

test('writeCpio → readCpio gives the files back, with parent directories, deterministically', () => {
  const blob = writeCpio(FILES);
  assert.equal(writeCpio(FILES), blob);
  const entries = readCpio(blob);
  assert.equal(cpioFiles(entries), new Map([...FILES].sort(([a], [b]) => (a < b ? -1 : 1))));
  const dirs = entries.filter((e) => (e.mode & 0o170000) === S_IFDIR).map((e) => e.name);
  assert.equal(dirs, ['a', 'a/b', 'a/b/c', 'bin', 'etc']);
  assert.is(blob.length % 4, 0);
});

test('GNU cpio extracts what writeCpio wrote', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hclckpt-cpio-'));
  const r = spawnSync('cpio', ['-i', '-d', '--quiet'], { cwd: dir, input: writeCpio(FILES) });
  assert.is(r.status, 0, r.stderr.toString());
  for (const [name, data] of FILES) assert.equal(new Uint8Array(readFileSync(join(dir, name))), data, name);
});

test('readCpio reads GNU cpio -H newc output, gzip-compressed too', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hclckpt-cpio-'));
  const src = spawnSync('cpio', ['-i', '-d', '--quiet'], { cwd: dir, input: writeCpio(FILES) });
  assert.is(src.status, 0);
  const out = spawnSync('sh', ['-c', 'find . | LC_ALL=C sort | cpio -o -H newc --quiet'], { cwd: dir });
  assert.is(out.status, 0, out.stderr.toString());
  const gnu = new Uint8Array(out.stdout);
  for (const blob of [gnu, new Uint8Array(gzipSync(gnu))]) {
    const files = cpioFiles(readCpio(blob));
    for (const [name, data] of FILES) assert.equal(files.get(name), data, name);
  }
});

test('concatenated archives with NUL padding between them unpack in order, later wins', () => {
  const a = writeCpio({ x: enc.encode('1'), y: enc.encode('y') });
  const b = writeCpio({ x: enc.encode('2') });
  const both = new Uint8Array([...a, 0, 0, 0, 0, ...b]);
  const files = cpioFiles(readCpio(both));
  assert.equal(files.get('x'), enc.encode('2'));
  assert.equal(files.get('y'), enc.encode('y'));
});

const GOOD = writeCpio({ f: enc.encode('hello') });
const edit = (at: number, text: string): Uint8Array => {
  const b = GOOD.slice();
  b.set(enc.encode(text), at);
  return b;
};
const BAD: Array<[string, Uint8Array, string]> = [
  ['bad magic', edit(0, '070707'), 'initrd at 0x0: bad magic "070707"'],
  ['short header', GOOD.subarray(0, 50), 'header needs 110 bytes, 50 left'],
  ['non-hex size', edit(6 + 6 * 8, 'zzzzzzzz'), 'filesize field is not hex'],
  ['data past the end', edit(6 + 6 * 8, '0000FFFF'), '"f": 65535 bytes of data run past the end'],
  ['name past the end', edit(6 + 11 * 8, '0000FFFF'), 'name of 65535 bytes runs past the end'],
  ['no trailer', GOOD.subarray(0, 120), 'archive ends without TRAILER!!!'],
  ['bad gzip', Uint8Array.from([0x1f, 0x8b, 1, 2, 3]), 'initrd: gzip data is invalid'],
];
for (const [why, blob, message] of BAD) {
  test(`readCpio: ${why} → KERNEL_INITRD_INVALID`, () => {
    try {
      readCpio(blob);
      assert.unreachable();
    } catch (e) {
      assert.ok(isHclError(e, 'KERNEL_INITRD_INVALID'), String(e));
      assert.match((e as Error).message, message);
    }
  });
}

test('writeCpio refuses names that cannot be unpacked', () => {
  for (const name of ['', 'a//b', '../x', 'a/./b']) {
    assert.throws(() => writeCpio({ [name]: new Uint8Array(0) }), (e: unknown) => isHclError(e, 'KERNEL_INITRD_INVALID'));
  }
});

test.run();
