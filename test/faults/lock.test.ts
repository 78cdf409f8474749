import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { presetConfig } from '../../lib/config/index.ts';
import { openStore } from '../../lib/store/index.ts';
import { bootWithWorkload, saveVm } from '../../harness/servicing.ts';
import { codeOf, nodeArgsFor, repoPath, spawnNode, tempDir } from './helpers.ts';

/**
 * Lock: while one process holds a store, a second process (`hclckpt save` through the real
 * binary) and a second open in this process get STORE_LOCKED at once — before the holder lets go,
 * so nobody waited — and afterwards every snapshot from before and the holder's own write is there.
 */

/** Runs `hclckpt ARGS`; resolves with exit code and stderr. */
function cli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [repoPath('bin/hclckpt.mjs'), ...args], { cwd: repoPath('.'), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('close', (code) => resolve({ code, stderr }));
  });
}

/** Two processes on one store; returns the problems found. `plant: 'release'` plants the holder's early release. */
async function lockScenario(plant?: 'release'): Promise<string[]> {
  const dir = await tempDir();
  const problems: string[] = [];
  const setup = await openStore(dir);
  const vm = bootWithWorkload(presetConfig('small'), { seed: 9, steps: 50 });
  const before = [(await saveVm(vm, setup)).id];
  vm.servicing.resume();
  before.push((await saveVm(vm, setup)).id);
  await setup.close();

  const holder = spawnNode(await nodeArgsFor('test/faults/bin/holder.ts'), plant === undefined ? [dir] : [dir, plant]);
  await holder.waitFor(/^held$/);
  const second = await cli(['save', '--store', dir, '--preset', 'small', '--name', 'second']);
  if (second.code !== 2 || !second.stderr.includes('error STORE_LOCKED') || !second.stderr.includes(dir)) {
    problems.push(`second process was not refused with STORE_LOCKED: exit ${String(second.code)}: ${second.stderr.trim()}`);
  }
  try {
    const s = await openStore(dir);
    await s.close();
    problems.push('a second open in this process was not refused');
  } catch (e) {
    if (codeOf(e) !== 'STORE_LOCKED') problems.push(`second open: ${codeOf(e)}, not STORE_LOCKED`);
  }
  // Refused before the holder let go: the refusals did not wait for the lock.
  if (holder.proc.exitCode !== null) problems.push('holder ended before the refusals');
  holder.proc.stdin.write('close\n');
  await holder.waitFor(/^closed$/);
  const end = await holder.exited;
  if (end.code !== 0) problems.push(`holder exited ${String(end.code)}: ${end.stderr}`);

  const after = await openStore(dir);
  try {
    const names = (await after.list()).map((m) => `${m.name}@${m.seq}`);
    const ids = new Set((await after.list()).map((m) => m.id));
    for (const id of before) if (!ids.has(id)) problems.push(`snapshot ${id.slice(0, 12)} from before is gone`);
    if (!names.includes('holder@1')) problems.push(`holder's snapshot is missing: ${names.join(', ')}`);
    if (names.some((n) => n.startsWith('second@'))) problems.push('the refused process wrote a snapshot');
    const v = await after.verify();
    if (v.problems.length > 0) problems.push(`verify: ${JSON.stringify(v.problems)}`);
  } finally {
    await after.close();
  }
  return problems;
}

test('lock: a second process gets STORE_LOCKED at once, nothing is lost', async () => {
  assert.equal(await lockScenario(), []);
});

test('lock check catches a store that lets go of its lock early (planted defect)', async () => {
  const problems = await lockScenario('release');
  assert.ok(problems.some((p) => p.startsWith('second process was not refused')), problems.join('\n') || 'nothing found');
  assert.ok(problems.includes('a second open in this process was not refused'), problems.join('\n'));
  assert.ok(problems.includes('the refused process wrote a snapshot'), problems.join('\n'));
  assert.not.ok(problems.some((p) => p.startsWith("holder's snapshot is missing")), 'the holder still writes its own snapshot');
});

test.run();
