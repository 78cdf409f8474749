import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { presetConfig, validateConfig } from '../../lib/config/index.ts';
import { readIgvm } from '../../lib/igvm/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'hclckpt-cli-'));
// Each run starts the whole CLI (seconds under load), so the cases are few and end to end.
const cli = (...args: string[]) => spawnSync(process.execPath, [join(import.meta.dirname, '../../bin/hclckpt.mjs'), ...args], { encoding: 'utf8', cwd: dir });

test('init writes a valid preset and refuses to overwrite without --force', () => {
  const file = join(dir, 'vm.json');
  assert.is(cli('init', '--preset', 'numa', '-o', file).status, 0);
  assert.equal(validateConfig(JSON.parse(readFileSync(file, 'utf8'))), presetConfig('numa'));
  const again = cli('init', '-o', file);
  assert.is(again.status, 2);
  assert.match(again.stderr, `hclckpt: error FILE_EXISTS: ${file}: already exists`);
  assert.is(cli('init', '--preset', 'small', '-o', file, '--force').status, 0);
  assert.is(JSON.parse(readFileSync(file, 'utf8')).name, 'small');
});

test('igvm build writes a readable package from a config file or a preset', () => {
  const cfg = join(dir, 'arm.json');
  writeFileSync(cfg, JSON.stringify(presetConfig('arm64-virt')));
  const out = join(dir, 'arm.igvm');
  const r = cli('igvm', 'build', '--config', cfg, '--usermode-version', '9.9.9', '-o', out);
  assert.is(r.status, 0, r.stderr);
  assert.equal(readIgvm(new Uint8Array(readFileSync(out))).revision, { version: 2, arch: 'aarch64' });
});

test.run();
