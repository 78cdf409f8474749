import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeIgvm } from '../../lib/igvm/index.ts';
import { x64File } from './fixtures.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'hclckpt-igvm-'));
const good = join(dir, 'good.igvm');
const goodBytes = writeIgvm(x64File());
writeFileSync(good, goodBytes);

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(root, 'bin/hclckpt.mjs'), ...args], { cwd: root, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('igvm inspect prints platforms, page ranges, parameter areas and contexts', () => {
  const r = cli('igvm', 'inspect', good);
  assert.is(r.code, 0, r.stderr);
  for (const s of ['IGVM v1 x64', 'platform SEV_SNP mask 0x4', '0x0-0x2000', 'parameter area 0: 0x2000 bytes', '+0x100 MEMORY_MAP', 'vp context VSM_ISOLATION mask 0x2 vp 0']) {
    assert.ok(r.stdout.includes(s), `missing "${s}" in:\n${r.stdout}`);
  }
  const j = cli('igvm', 'inspect', good, '--json');
  assert.is(j.code, 0, j.stderr);
  const summary = JSON.parse(j.stdout) as { platforms: unknown[]; file: { size: number } };
  assert.is(summary.platforms.length, 6);
  assert.is(summary.file.size, goodBytes.length);
});

test('igvm decode -o then encode -o reproduces the file byte for byte', () => {
  const json = join(dir, 'good.json');
  const out = join(dir, 'again.igvm');
  const d = cli('igvm', 'decode', good, '-o', json);
  assert.is(d.code, 0, d.stderr);
  const e = cli('igvm', 'encode', json, '-o', out);
  assert.is(e.code, 0, e.stderr);
  assert.ok(readFileSync(out).equals(Buffer.from(goodBytes)));
});

const broken: Array<[string, () => Uint8Array | string, string[], string]> = [
  ['a bad checksum', () => { const b = goodBytes.slice(); b[20] = (b[20] ?? 0) ^ 1; return b; }, ['igvm', 'inspect'], 'IGVM_INVALID_CHECKSUM'],
  ['a truncated file', () => goodBytes.slice(0, 100), ['igvm', 'decode'], 'IGVM_INVALID_FIXED_HEADER'],
  ['text that is not JSON', () => '{ nope', ['igvm', 'encode', '-o', join(dir, 'x.igvm')], 'IGVM_JSON_INVALID'],
  ['JSON with a bad field', () => JSON.stringify({ revision: { version: 1 }, headers: [{ kind: 'PAGE_DATA', gpa: 'x' }] }),
    ['igvm', 'encode', '-o', join(dir, 'y.igvm')], 'IGVM_JSON_INVALID'],
];

for (const [name, make, args, code] of broken) {
  test(`${args.slice(0, 2).join(' ')} on ${name}: ${code}, exit 2`, () => {
    const file = join(dir, `${name.replace(/\W+/g, '-')}.bin`);
    writeFileSync(file, make());
    const [group, sub, ...rest] = args;
    const r = cli(group ?? '', sub ?? '', file, ...rest);
    assert.is(r.code, 2);
    assert.is(r.stdout, '');
    assert.ok(r.stderr.startsWith(`hclckpt: error ${code}: ${file}: `), r.stderr);
  });
}

test('a bad JSON field is reported with its path; a missing file is FILE_NOT_FOUND', () => {
  const file = join(dir, 'bad-field.json');
  writeFileSync(file, JSON.stringify({ revision: { version: 1 }, headers: [{ kind: 'PAGE_DATA', gpa: 'x' }] }));
  const r = cli('igvm', 'encode', file, '-o', join(dir, 'z.igvm'));
  assert.ok(r.stderr.includes('headers[0].gpa: expected a u64'), r.stderr);
  const m = cli('igvm', 'inspect', join(dir, 'nope.igvm'));
  assert.is(m.code, 2);
  assert.ok(m.stderr.startsWith('hclckpt: error FILE_NOT_FOUND: '), m.stderr);
});

test.run();
