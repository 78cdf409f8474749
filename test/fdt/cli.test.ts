import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { printDts, writeFdt } from '../../lib/fdt/index.ts';
import { DTS_CASES } from './cases.ts';

const dir = mkdtempSync(join(tmpdir(), 'hclckpt-dt-'));
const fdt = DTS_CASES[1]!.tree;
const good = join(dir, 'good.dtb');
writeFileSync(good, writeFdt(fdt));
const truncated = join(dir, 'cut.dtb');
writeFileSync(truncated, writeFdt(fdt).subarray(0, 60));

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'cli.ts', ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('dt dump prints the DTS text', () => {
  const r = cli('dt', 'dump', good);
  assert.is(r.status, 0);
  assert.fixture(r.stdout, printDts(fdt));
});

test('dt dump --json prints the tree with bigint as strings and values as hex', () => {
  const r = cli('dt', 'dump', good, '--json');
  assert.is(r.status, 0);
  const json = JSON.parse(r.stdout) as { reservations: Array<{ address: string }>; root: { children: Array<{ name: string; properties: Array<{ value: string }> }> } };
  assert.is(json.reservations[0]!.address, '4096');
  assert.is(json.root.children[0]!.name, 'memory@40000000');
  assert.is(json.root.children[0]!.properties[0]!.value, '6d656d6f727900');
});

const ERRORS: Array<[string, string, string]> = [
  [truncated, 'FDT_TRUNCATED', `hclckpt: error FDT_TRUNCATED: ${truncated}: fdt header: totalsize`],
  [join(dir, 'missing.dtb'), 'FILE_NOT_FOUND', `hclckpt: error FILE_NOT_FOUND: ${join(dir, 'missing.dtb')}: no such file`],
  ['cli.ts', 'FDT_BAD_MAGIC', 'hclckpt: error FDT_BAD_MAGIC: cli.ts: not a flattened device tree (bad magic)'],
];
for (const [file, code, message] of ERRORS) {
  test(`dt dump of a bad file: ${code}, exit 2`, () => {
    const r = cli('dt', 'dump', file);
    assert.is(r.status, 2);
    assert.is(r.stdout, '');
    assert.match(r.stderr, message);
  });
}

test.run();
