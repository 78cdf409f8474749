import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { linkSync, lstatSync, mkdirSync, readFileSync, readdirSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../harness/commands/program.ts';
import { readInput } from '../../harness/commands/io.ts';
import { isHclError } from '../../lib/errors.ts';
import { readArchive, writeArchive } from '../../lib/store/index.ts';
import { hermeticEnv, runCli } from '../cli.ts';
import { tempDir } from './helpers.ts';

/**
 * Files hclckpt is given (issue 12 points 4, 9 and 11, CLI side): every output is written only
 * to a new path or, with --force, over a regular file, through a new file and a rename, never
 * through a symlink, FIFO, device or directory; every input is a regular file within a size
 * limit, checked on the opened file, with its magic checked first; large JSON is streamed.
 */

const dir = await tempDir('hclckpt-files-');
const p = (name: string) => join(dir, name);
const store = p('store');
const fifo = (path: string) => assert.is(spawnSync('mkfifo', [path]).status, 0, 'mkfifo');

async function cli(...args: string[]) {
  const r = await runCli(...args);
  return { ...r, code: /^hclckpt: error ([A-Z_]+):/.exec(r.stderr)?.[1] ?? null };
}

async function setup(): Promise<void> {
  for (const args of [
    ['save', '--preset', 'small', '--store', store], ['igvm', 'build', '--preset', 'small', '-o', p('x.igvm')],
    ['igvm', 'decode', p('x.igvm'), '-o', p('x.json')], ['boot', '--preset', 'small', '--dtb-out', p('k.dtb'), '--show', 'cmdline'],
    ['export', 'small@1', p('a.hclsnap'), '--store', store], ['schema', 'dump', '-o', p('schema.json')],
  ]) {
    const r = await runCli(...args);
    if (r.status !== 0) throw new Error(`setup ${args.join(' ')}: ${r.stderr}`);
  }
}
await setup();

/** Every command that writes one file, as argv with the target `t`. */
const WRITERS: Array<{ name: string; args: (t: string) => string[] }> = [
  { name: 'init -o', args: (t) => ['init', '-o', t] },
  { name: 'igvm build -o', args: (t) => ['igvm', 'build', '--preset', 'small', '-o', t] },
  { name: 'igvm decode -o', args: (t) => ['igvm', 'decode', p('x.igvm'), '-o', t] },
  { name: 'igvm encode -o', args: (t) => ['igvm', 'encode', p('x.json'), '-o', t] },
  { name: 'schema dump -o', args: (t) => ['schema', 'dump', '-o', t] },
  { name: 'export', args: (t) => ['export', 'small@1', t, '--store', store] },
  { name: 'boot --dtb-out', args: (t) => ['boot', '--dtb-out', t, '--show', 'cmdline'] },
  { name: 'boot --host-dtb-out', args: (t) => ['boot', '--host-dtb-out', t, '--show', 'cmdline'] },
  { name: 'bench --plot', args: (t) => ['bench', '--quick', '--plot', t] },
];
/** bench runs for a minute before it writes: only its refusals (checked first) are run here. */
const refusalOnly = new Set(['bench --plot']);

let n = 0;
for (const w of WRITERS) {
  test(`point 4: ${w.name} refuses a symlink, FIFO, device and directory (FILE_NOT_REGULAR) and writes nothing through them`, async () => {
    const sub = p(`w${n++}`);
    mkdirSync(sub);
    writeFileSync(join(sub, 'victim'), 'victim\n');
    symlinkSync(join(sub, 'victim'), join(sub, 'link'));
    symlinkSync(join(sub, 'nowhere'), join(sub, 'dangling'));
    fifo(join(sub, 'fifo'));
    mkdirSync(join(sub, 'dir'));
    for (const target of ['link', 'dangling', 'fifo', 'dir'].map((x) => join(sub, x)).concat('/dev/null')) {
      const r = await cli(...w.args(target));
      assert.is(r.status, 2, `${target}: ${r.stderr}`);
      assert.is(r.code, 'FILE_NOT_REGULAR', `${target}: ${r.stderr}`);
      assert.match(r.stderr, target);
    }
    assert.is(readFileSync(join(sub, 'victim'), 'utf8'), 'victim\n');
    assert.ok(lstatSync(join(sub, 'link')).isSymbolicLink());
    assert.equal(readdirSync(sub).sort(), ['dangling', 'dir', 'fifo', 'link', 'victim'], 'no temp files, nothing created');
    assert.equal(readdirSync(join(sub, 'dir')), []);
  });

  test(`point 4: ${w.name} refuses an existing file without --force (FILE_EXISTS) and a missing directory (FILE_IO)`, async () => {
    const sub = p(`w${n++}`);
    mkdirSync(sub);
    writeFileSync(join(sub, 'old'), 'old\n');
    const r = await cli(...w.args(join(sub, 'old')));
    assert.is(r.code, 'FILE_EXISTS', r.stderr);
    assert.match(r.stderr, '--force');
    assert.is(readFileSync(join(sub, 'old'), 'utf8'), 'old\n');
    const m = await cli(...w.args(join(sub, 'no/such/dir/out')));
    assert.is(m.code, 'FILE_IO', m.stderr);
    assert.match(m.stderr, 'is not an existing directory');
  });

  if (refusalOnly.has(w.name)) continue;
  test(`point 4: ${w.name} writes a new path, and with --force replaces a regular file by rename (a hard link keeps the old bytes)`, async () => {
    const sub = p(`w${n++}`);
    mkdirSync(sub);
    const fresh = await cli(...w.args(join(sub, 'new')));
    assert.is(fresh.status, 0, fresh.stderr);
    const bytes = readFileSync(join(sub, 'new'));
    assert.ok(bytes.length > 0);
    writeFileSync(join(sub, 'old'), 'old\n');
    linkSync(join(sub, 'old'), join(sub, 'other-name'));
    const forced = await cli(...w.args(join(sub, 'old')), '--force');
    assert.is(forced.status, 0, forced.stderr);
    assert.equal(readFileSync(join(sub, 'old')), bytes);
    assert.is(readFileSync(join(sub, 'other-name'), 'utf8'), 'old\n', 'not written in place');
    assert.equal(readdirSync(sub).sort(), ['new', 'old', 'other-name']);
  });
}

test('point 4: boot --procfs-out writes a new directory tree; refuses a file, a symlink, an existing dir without --force, and a symlink planted inside', async () => {
  const sub = p('procfs');
  mkdirSync(sub);
  const ok = await cli('boot', '--procfs-out', join(sub, 'tree'), '--show', 'cmdline');
  assert.is(ok.status, 0, ok.stderr);
  assert.is(readFileSync(join(sub, 'tree/proc/cmdline'), 'utf8'), ok.stdout);
  writeFileSync(join(sub, 'file'), 'x');
  symlinkSync(join(sub, 'tree'), join(sub, 'link'));
  assert.is((await cli('boot', '--procfs-out', join(sub, 'file'))).code, 'FILE_NOT_REGULAR');
  assert.is((await cli('boot', '--procfs-out', join(sub, 'link'), '--force')).code, 'FILE_NOT_REGULAR');
  assert.is((await cli('boot', '--procfs-out', join(sub, 'tree'))).code, 'FILE_EXISTS');
  mkdirSync(join(sub, 'elsewhere'));
  mkdirSync(join(sub, 'planted'));
  symlinkSync(join(sub, 'elsewhere'), join(sub, 'planted/proc'));
  const planted = await cli('boot', '--procfs-out', join(sub, 'planted'), '--force');
  assert.is(planted.code, 'FILE_NOT_REGULAR', planted.stderr);
  assert.equal(readdirSync(join(sub, 'elsewhere')), [], 'nothing written through the planted symlink');
  assert.is((await cli('boot', '--procfs-out', join(sub, 'tree'), '--force', '--show', 'cmdline')).status, 0);
});

/** Every command that reads a file, as argv with the input `f`. */
const READERS: Array<{ name: string; args: (f: string) => string[] }> = [
  { name: 'dt dump', args: (f) => ['dt', 'dump', f] },
  { name: 'igvm decode', args: (f) => ['igvm', 'decode', f] },
  { name: 'igvm inspect', args: (f) => ['igvm', 'inspect', f] },
  { name: 'igvm encode', args: (f) => ['igvm', 'encode', f, '-o', p('never.igvm')] },
  { name: 'boot --config', args: (f) => ['boot', '--config', f] },
  { name: 'restore --igvm', args: (f) => ['restore', 'small', '--igvm', f, '--store', store] },
  { name: 'schema check', args: (f) => ['schema', 'check', f, p('schema.json')] },
  { name: 'show FILE', args: (f) => ['show', f] },
  { name: 'diff FILE', args: (f) => ['diff', f, p('a.hclsnap')] },
  { name: 'import', args: (f) => ['import', f, '--store', store] },
  { name: 'kernel check --dtb', args: (f) => ['kernel', 'check', '--dtb', f] },
];

fifo(p('in.fifo'));
mkdirSync(p('in.dir'));
for (const r of READERS) {
  test(`point 9: ${r.name} refuses a FIFO (without waiting for a writer), /dev/zero and a directory: FILE_NOT_REGULAR`, async () => {
    for (const f of [p('in.fifo'), '/dev/zero', p('in.dir')]) {
      const out = await cli(...r.args(f));
      assert.is(out.status, 2, `${f}: ${out.stderr}`);
      assert.is(out.code, 'FILE_NOT_REGULAR', `${f}: ${out.stderr}`);
      assert.match(out.stderr, `${f}: not a regular file`);
    }
  });
}

test('point 9: a file over the input limit is FILE_TOO_LARGE naming the limit and HCLCKPT_MAX_INPUT, checked before reading', async () => {
  const big = p('big.igvm');
  writeFileSync(big, readFileSync(p('x.igvm')));
  truncateSync(big, 300 * 1024 * 1024); // sparse: larger than the default 256 MiB limit without using the disk
  const r = await cli('igvm', 'inspect', big);
  assert.is(r.code, 'FILE_TOO_LARGE', r.stderr);
  assert.match(r.stderr, `${big}: is larger than ${256 * 1024 * 1024} bytes, the input limit; set HCLCKPT_MAX_INPUT=BYTES to raise it`);
  try {
    await readInput(p('x.igvm'), { limit: 1000 });
    assert.unreachable('limit ignored');
  } catch (e) {
    assert.ok(isHclError(e, 'FILE_TOO_LARGE'), String(e));
  }
});

test('point 9: HCLCKPT_MAX_INPUT sets the limit for the real binary; a malformed value is USAGE', () => {
  const bin = fileURLToPath(new URL('../../bin/hclckpt.mjs', import.meta.url));
  const run = (v: string) => spawnSync(process.execPath, [bin, 'igvm', 'inspect', p('x.igvm')], { env: hermeticEnv({ HCLCKPT_MAX_INPUT: v }), encoding: 'utf8' });
  const small = run('1000');
  assert.is(small.status, 2, small.stderr);
  assert.match(small.stderr, /^hclckpt: error FILE_TOO_LARGE: .*larger than 1000 bytes/);
  assert.is(run(String(10 * 1024 * 1024)).status, 0);
  const bad = run('lots');
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /^hclckpt: error USAGE: HCLCKPT_MAX_INPUT "lots": expected an integer >= 1\n$/);
});

test('point 9: the store reads an archive only from a regular file, never through a symlink, and within its size bound', async () => {
  // Library level (SnapshotStore.importSnapshot / readArchive), below the CLI's own input check:
  // a file swapped after the CLI looked at it is still refused, and nothing hangs on a FIFO.
  fifo(p('arch-fifo'));
  symlinkSync('/dev/zero', p('arch-link'));
  writeFileSync(p('arch-big'), '');
  truncateSync(p('arch-big'), 2 * 1024 * 1024 + 16 * 1024 * 1024 + 1);
  const cases: Array<[string, string, number?]> = [
    [p('arch-fifo'), 'FILE_NOT_REGULAR'], ['/dev/zero', 'FILE_NOT_REGULAR'], [p('arch-link'), 'FILE_NOT_REGULAR'],
    [dir, 'FILE_NOT_REGULAR'], [p('arch-big'), 'FILE_TOO_LARGE', 2 * 1024 * 1024],
  ];
  for (const [file, code, limit] of cases) {
    const e = await readArchive(file, limit).then(() => null, (x: unknown) => x);
    assert.ok(isHclError(e) && e.code === code, `${file}: ${String(e)}`);
  }
});

test('point 4: writeArchive writes through a fresh exclusive temporary file and leaves no temporary behind', async () => {
  const target = p('written.hclsnap');
  await writeArchive(target, new Uint8Array([1, 2, 3]));
  assert.equal([...readFileSync(target)], [1, 2, 3]);
  assert.equal(readdirSync(dir).filter((n) => n.startsWith('written.hclsnap.tmp-')), []);
  const e = await writeArchive(p('missing-dir/x.hclsnap'), new Uint8Array([1])).then(() => null, (x: unknown) => x);
  assert.ok(isHclError(e) && e.code === 'FILE_IO', String(e));
});

test('point 11: the magic is checked on the first bytes before the rest is read (igvm, dtb, .hclsnap)', async () => {
  writeFileSync(p('junk'), Buffer.alloc(4096, 0x41));
  const cases: Array<[string[], string, string]> = [
    [['igvm', 'inspect', p('junk')], 'IGVM_INVALID_FIXED_HEADER', 'not an IGVM file (bad magic)'],
    [['dt', 'dump', p('junk')], 'FDT_BAD_MAGIC', 'not a flattened device tree (bad magic)'],
    [['show', p('junk')], 'ARCHIVE_INVALID', 'not an .hclsnap archive (bad magic)'],
    [['import', p('junk'), '--store', store], 'ARCHIVE_INVALID', 'not an .hclsnap archive (bad magic)'],
  ];
  for (const [args, code, msg] of cases) {
    const r = await cli(...args);
    assert.is(r.code, code, r.stderr);
    assert.match(r.stderr, `${p('junk')}: ${msg}`);
  }
});

/** Runs the CLI in this process recording the size of every stdout write. */
async function writes(...args: string[]): Promise<{ chunks: number[]; text: string }> {
  const chunks: number[] = [];
  let text = '';
  const real = process.stdout.write;
  process.stdout.write = ((c: string) => { chunks.push(c.length); text += c; return true; }) as typeof process.stdout.write;
  try {
    await main(['node', 'hclckpt', ...args]);
  } finally {
    process.stdout.write = real;
    process.exitCode = 0;
  }
  return { chunks, text };
}

test('point 11: igvm decode and dt dump --json stream their JSON in bounded chunks (no single huge string)', async () => {
  await runCli('boot', '--preset', 'large', '--dtb-out', p('large.dtb'), '--show', 'cmdline');
  for (const args of [['igvm', 'decode', p('x.igvm')], ['dt', 'dump', p('large.dtb'), '--json']]) {
    const { chunks, text } = await writes(...args);
    assert.ok(text.length > 200_000, `${args.join(' ')}: ${text.length} chars`);
    assert.ok(Math.max(...chunks) < 128 * 1024, `${args.join(' ')}: largest write ${Math.max(...chunks)} chars`);
    assert.not.throws(() => JSON.parse(text));
  }
});

test.run();
