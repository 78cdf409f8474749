import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { presetConfig } from '../../lib/config/index.ts';
import { runCli } from '../cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'hclckpt-vmcli-'));
const store = join(dir, 'store');
const json = (s: string) => JSON.parse(s) as Record<string, unknown>;

test('boot --json prints topology, cmdline, bootCpus and per-stage figures', async () => {
  const r = await runCli('boot', '--preset', 'numa', '--json');
  assert.is(r.status, 0, r.stderr);
  const b = json(r.stdout) as { topology: { vps: Array<{ index: number; reg: number; vnode: number }>; nodes: unknown[] }; cmdline: string; bootCpus: number[]; stages: Array<{ name: string }> };
  assert.is(b.topology.vps.length, 64);
  assert.equal(b.topology.vps[17], { index: 17, reg: presetConfig('numa').vps[17]!.reg, vnode: presetConfig('numa').vps[17]!.vnode });
  assert.is(b.topology.nodes.length, 4);
  assert.match(b.cmdline, `boot_cpus=${b.bootCpus.join(',')}`);
  assert.equal(b.stages.map((s) => s.name), ['host', 'loader', 'shim', 'kernel', 'hcl']);
});

test('boot writes the kernel DTB, host DTB and ProcFs tree it was asked for', async () => {
  const out = join(dir, 'boot');
  const r = await runCli('boot', '--preset', 'small', '--dtb-out', `${out}.dtb`, '--host-dtb-out', `${out}.host.dtb`, '--procfs-out', out, '--show', 'cmdline');
  assert.is(r.status, 0, r.stderr);
  assert.is(readFileSync(join(out, 'proc/cmdline'), 'utf8'), `${r.stdout.trimEnd()}\n`);
  assert.equal([...readFileSync(join(out, 'sys/firmware/fdt'))], [...readFileSync(`${out}.dtb`)]);
  assert.ok(readdirSync(join(out, 'proc/device-tree/cpus')).includes('cpu@1'));
  assert.is(spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', '-q', `${out}.host.dtb`]).status, 0);
});

test('boot --show of an unknown view and a bad preset are bad input (exit 2)', async () => {
  const a = await runCli('boot', '--show', 'everything');
  assert.is(a.status, 2);
  assert.match(a.stderr, 'hclckpt: error USAGE: boot --show "everything": expected one of topology, cmdline, dt, procfs');
  const b = await runCli('boot', '--preset', 'huge');
  assert.is(b.status, 2);
  assert.match(b.stderr, /^hclckpt: error PRESET_UNKNOWN: /);
});

test('save --json, restore --json with an override, an inconsistent restore and a shim panic', async () => {
  const s = await runCli('save', '--preset', 'small', '--workload', '3:120', '--store', store, '--json');
  assert.is(s.status, 0, s.stderr);
  const saved = json(s.stdout) as { id: string; name: string; seq: number; bytes: number; newBytes: number; units: Array<{ name: string; package: string; generation: number; bytes: number }> };
  assert.is(saved.name, 'small');
  assert.is(saved.seq, 1);
  assert.is(saved.newBytes, saved.bytes);
  // small configures com1 and com3: rtc.cmos, serial-com1, serial-com3, partition, vmbus; the NVMe manager saves into the init state.
  assert.equal(saved.units.map((u) => u.name).filter((n) => n.startsWith('serial')), ['serial-com1', 'serial-com3']);
  assert.is(saved.units.length, 5);

  const r = await runCli('restore', 'small@1', '--set', 'cmdline.host=quiet X=1', '--save', '--store', store, '--json');
  assert.is(r.status, 0, r.stderr);
  const out = json(r.stdout) as { id: string; from: string; topologyConsistent: boolean; proof: { ok: boolean }; overrides: unknown[]; cmdline: string };
  assert.is(out.from, saved.id);
  assert.ok(out.topologyConsistent && out.proof.ok);
  assert.equal(out.overrides, [{ path: 'cmdline.host', value: 'quiet X=1' }]);
  assert.ok(out.cmdline.endsWith('quiet X=1'));
  assert.match(out.id, /^[0-9a-f]{64}$/);

  // OpenHCL takes CPUs from the host: a new APIC ID is accepted, and the oracle reports it (exit 1).
  const moved = await runCli('restore', saved.id.slice(0, 8), '--set', 'vps[1].reg=9', '--store', store);
  assert.is(moved.status, 1);
  assert.match(moved.stdout, /outcome: accepted-inconsistent \(oracle\)\n.*1 inconsistencies OpenHCL lets through\n    vp-moved: vp 1: saved as apic id\/mpidr 0x1, the host now gives it 0x9\n/);
  assert.match(moved.stderr, /^hclckpt: error RESTORE_INCONSISTENT: restore [0-9a-f]{8}: OpenHCL accepts this restore, but the oracle found 1 inconsistencies \(first: vp-moved: /);
  assert.is(moved.stderr.trim().split('\n').length, 1, 'one line, no stack');
  const accept = await runCli('restore', saved.id.slice(0, 8), '--set', 'vps[1].reg=9', '--accept-inconsistent', '--store', store, '--json');
  assert.is(accept.status, 0, accept.stderr);
  const acc = json(accept.stdout) as { outcome: unknown; topologyConsistent: boolean; inconsistencies: Array<{ kind: string }> };
  assert.equal(acc.outcome, { layer: 'oracle', kind: 'accepted-inconsistent' });
  assert.is(acc.topologyConsistent, false);
  assert.equal(acc.inconsistencies.map((x) => x.kind), ['vp-moved']);
  // VTL2 RAM the host no longer matches is an assert in the real shim: a panic, reported as such.
  const panic = await runCli('restore', saved.id.slice(0, 8), '--set', `vtl2.size=${presetConfig('small').vtl2.size + 0x20_0000}`, '--store', store, '--json');
  assert.is(panic.status, 1);
  const p = json(panic.stdout) as { outcome: unknown; error: { code: string } };
  assert.equal(p.outcome, { layer: 'shim', kind: 'shim-panic' });
  assert.is(p.error.code, 'SHIM_PANIC');
  assert.match(panic.stderr, /^hclckpt: error SHIM_PANIC: shim restore: OpenHCL would panic here: vtl2 ram from persisted state does not match host provided ram/);
  const ls = json((await runCli('ls', '--store', store, '--json')).stdout) as unknown as unknown[];
  assert.is(ls.length, 2, 'only the --save restore wrote a snapshot');
});

test('restore of an unknown ref and a malformed --set are bad input', async () => {
  const a = await runCli('restore', 'nosuch@9', '--store', store);
  assert.is(a.status, 2);
  assert.match(a.stderr, /^hclckpt: error STORE_NOT_FOUND: /);
  const b = await runCli('restore', 'small', '--set', 'nokey', '--store', store);
  assert.is(b.status, 2);
  assert.match(b.stderr, 'hclckpt: error OVERRIDE_INVALID: override "nokey": expected KEY=VALUE');
});

test('cycle --json gives one proven record per cycle, each after the previous', async () => {
  const r = await runCli('cycle', '--preset', 'small', '--cycles', '3', '--steps', '20', '--store', join(dir, 'cycles'), '--json');
  assert.is(r.status, 0, r.stderr);
  const recs = JSON.parse(r.stdout) as Array<{ cycle: number; id: string; proof: boolean; topologyConsistent: boolean }>;
  assert.equal(recs.map((x) => x.cycle), [1, 2, 3]);
  assert.ok(recs.every((x) => x.proof && x.topologyConsistent));
  assert.is(new Set(recs.map((x) => x.id)).size, 3);
  assert.is((await runCli('cycle', '--cycles', '0', '--store', join(dir, 'cycles'))).status, 2);
});

test('save --config with an invalid file names the field', async () => {
  const file = join(dir, 'bad.json');
  writeFileSync(file, JSON.stringify({ ...presetConfig('small'), vps: [{ reg: 0, vnode: 7 }] }));
  const r = await runCli('save', '--config', file, '--store', store);
  assert.is(r.status, 2);
  assert.match(r.stderr, /^hclckpt: error CONFIG_INVALID: .*vps\[0\]\.vnode/);
});

test('demo runs the main job end to end on a real store through the real binary', () => {
  const r = spawnSync(process.execPath, [resolve('bin/hclckpt.mjs'), 'demo', '--preset', 'small', '--store', join(dir, 'demo')], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.is(lines.length, 6);
  assert.match(lines[2]!, 'proof ok');
  assert.match(lines[5]!, /verify: 2 snapshots, \d+ blobs, 0 problems/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
