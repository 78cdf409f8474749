import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { buildProgram } from '../../harness/commands/program.ts';
import { DEFAULT_MAX_INPUT } from '../../harness/commands/io.ts';
import { MAX_STEPS } from '../../harness/workload.ts';
import { DEFAULT_FDT_LIMITS } from '../../lib/fdt/index.ts';
import { SHIM_LIMITS } from '../../lib/shim/index.ts';
import { runCli } from '../cli.ts';

/** Help texts and the README synopsis are complete and true (issue 13). */

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const cliSection = readme.slice(readme.indexOf('## CLI\n'), readme.indexOf('## Saved-state versions'));
const synopsis = /```\n([\s\S]*?)```/.exec(cliSection)?.[1] ?? '';

async function commands(): Promise<Array<{ path: string; cmd: Command }>> {
  const out: Array<{ path: string; cmd: Command }> = [];
  const walk = (c: Command, path: string[]) => {
    for (const s of c.commands) {
      out.push({ path: [...path, s.name()].join(' '), cmd: s });
      walk(s, [...path, s.name()]);
    }
  };
  walk(await buildProgram(), []);
  return out;
}

test('README synopsis names every leaf command and every option it takes', async () => {
  assert.ok(synopsis.length > 0);
  const missing: string[] = [];
  for (const { path, cmd } of await commands()) {
    if (cmd.commands.length > 0) continue;
    const name = path.split(' ').at(-1)!;
    if (!new RegExp(`\\b${name}\\b`).test(synopsis)) missing.push(path);
    for (const o of cmd.options) {
      const flags = [o.long, o.short].filter((f): f is string => f !== undefined);
      if (!flags.some((f) => synopsis.includes(f))) missing.push(`${path} ${o.flags}`);
    }
  }
  assert.equal(missing, []);
});

test('every option of every command has a help text', async () => {
  const bare = (await commands()).flatMap(({ path, cmd }) => cmd.options.filter((o) => (o.description ?? '').trim() === '').map((o) => `${path} ${o.flags}`));
  assert.equal(bare, []);
});

test('hclckpt --help lists every user environment variable and the limits, with the values the code uses', async () => {
  const r = await runCli('--help');
  assert.is(r.status, 0);
  for (const v of ['HCLCKPT_STORE', 'HCLCKPT_MAX_INPUT', 'HCLCKPT_DEBUG', 'HCLCKPT_FAULT', 'HCLCKPT_KERNEL_DIR', 'HCLCKPT_QEMU', 'HCLCKPT_PROP_MAXVPS', 'NO_COLOR', 'FORCE_COLOR']) {
    assert.ok(r.stdout.includes(v), v);
    assert.ok(cliSection.includes(`\`${v}`), `README: ${v}`);
  }
  const { FAULT_NAMES } = await import('../../lib/faults.ts');
  for (const f of FAULT_NAMES) assert.ok(r.stdout.includes(f) && cliSection.includes(`\`${f}\``), f);
  const oneLine = r.stdout.replace(/\s+/g, ' ');
  const readmeLine = cliSection.replace(/\s+/g, ' ');
  for (const text of [`${DEFAULT_MAX_INPUT}`, `${MAX_STEPS} steps`, `DTBs ${DEFAULT_FDT_LIMITS.maxTotalSize / 2 ** 20} MiB`, `0x${SHIM_LIMITS.cmdline.toString(16)} bytes`, `${DEFAULT_MAX_INPUT / 2 ** 20} MiB`]) {
    assert.ok(oneLine.includes(text), `--help: ${text}`);
    assert.ok(readmeLine.includes(text), `README: ${text}`);
  }
});

test('show --help promises only what show prints', async () => {
  const r = await runCli('show', '--help');
  assert.not.match(r.stdout, 'header');
  assert.match(r.stdout, 'lossless JSON');
});

test.run();
