import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatBytes } from '../../harness/commands/store.ts';
import { presetConfig } from '../../lib/config/index.ts';
import { PlatformType } from '../../lib/igvm/index.ts';
import { openStore } from '../../lib/store/index.ts';
import { recordRuns, runOne } from '../../properties/runner.ts';
import { storeModel } from '../../properties/props/store.ts';
import { runCli } from '../cli.ts';

/** What the CLI prints for people (issue 13 "Output people read"), through the real commands. */

const dir = mkdtempSync(join(tmpdir(), 'hclckpt-cliout-'));
const store = join(dir, 'store');
const S = ['--store', store];
const ok = async (...args: string[]) => {
  const r = await runCli(...args);
  assert.is(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
type Row = { id: string; name: string; seq: number; bytes: number; parent: string | null };

test('save prints NAME@SEQ, a 12-digit id and (bytes, new bytes)', async () => {
  const line = await ok('save', '--preset', 'numa', ...S);
  const [row] = JSON.parse(await ok('ls', '--json', ...S)) as Row[];
  assert.ok(row !== undefined);
  // Into an empty store the new bytes are the distinct blobs' bytes: a chunk that repeats inside
  // the snapshot (the hypervisor's identical reset VPs) is stored once.
  const s = await openStore(store, { readOnly: true });
  const m = await s.getManifest(row.id).finally(() => s.close());
  const blobs = new Map(m.parts.flatMap((p) => p.chunks ?? [{ sha256: p.sha256, size: p.size }]).map((c) => [c.sha256, c.size]));
  const fresh = [...blobs.values()].reduce((a, b) => a + b, 0);
  assert.ok(fresh < row.bytes, 'some chunk repeats inside the snapshot');
  assert.is(line, `numa@1 ${row.id.slice(0, 12)} (${formatBytes(row.bytes)}, ${formatBytes(fresh)} new)\n`);
});

test('ls NAME lists only that name; an unknown name says so', async () => {
  await ok('save', '--preset', 'small', ...S);
  const all = JSON.parse(await ok('ls', '--json', ...S)) as Row[];
  const small = JSON.parse(await ok('ls', 'small', '--json', ...S)) as Row[];
  assert.equal(small.map((r) => r.name), ['small']);
  assert.ok(all.length > small.length);
  assert.is(await ok('ls', 'nosuch', ...S), 'no snapshots named nosuch\n');
});

test('restore summarises expected differences by kind; --verbose lists each; log shows the parent chain', async () => {
  const json = JSON.parse(await ok('restore', 'numa', '--set', 'sidecar=off', '--json', ...S)) as { proof: { differences: Array<{ path: string; allowed?: string }> } };
  const roles = json.proof.differences.filter((d) => /^vps\[\d+\]\.data\.role$/.test(d.path));
  assert.ok(roles.length > 1 && roles.length === json.proof.differences.length, String(json.proof.differences.length));
  const verbose = await ok('restore', 'numa', '--set', 'sidecar=off', '--verbose', ...S);
  assert.is(verbose.split('\n').filter((l) => /^ {4}partition\.vps\[\d+\]\.data\.role: sidecar → linux/.test(l)).length, roles.length);
  const text = await ok('restore', 'numa', '--set', 'sidecar=off', '--save', ...S);
  // numa configures three COM ports: rtc.cmos, serial-com1..3, partition and vmbus (NVMe is in the init state).
  assert.match(text, `proof: ok (6 units; ${roles.length} expected differences, 0 unexplained)`);
  assert.match(text, `    ${roles.length} × partition.vps[*].data.role: sidecar → linux  (`);
  assert.not.match(text, 'vps[1].data.role');

  const chain = JSON.parse(await ok('log', 'numa', '--json', ...S)) as Row[];
  assert.equal(chain.map((r) => r.seq), [2, 1]);
  assert.is(chain[0]!.parent, chain[1]!.id);
  const lines = (await ok('log', 'numa', ...S)).trimEnd().split('\n');
  assert.equal(lines.map((l) => l.split(' ').slice(0, 2).join(' ')), [`${chain[0]!.id.slice(0, 12)} numa@2`, `${chain[1]!.id.slice(0, 12)} numa@1`]);
});

test('restore onto one more VP names the new entries it allows as (absent) → {…}', async () => {
  const vps = [...presetConfig('small').vps, { reg: 4, vnode: 0 }];
  const r = await runCli('restore', 'small', '--set', `vps=${JSON.stringify(vps)}`, '--accept-inconsistent', ...S);
  assert.is(r.status, 0, r.stderr);
  for (const unit of ['partition', 'hv']) assert.match(r.stdout, `    1 × ${unit}.vps[*]: (absent) → {…}  (a vp with no saved state starts from reset`);
  assert.match(r.stdout, '    vp-without-state: vp 4: the host has it, the snapshot has no saved state for it (it starts from reset)\n');
});

test('restore --igvm of the other architecture is refused naming both, before anything is saved', async () => {
  const igvm = join(dir, 'arm.igvm');
  await ok('igvm', 'build', '--preset', 'arm64-virt', '-o', igvm);
  const before = (JSON.parse(await ok('ls', '--json', ...S)) as Row[]).length;
  const r = await runCli('restore', 'small', '--igvm', igvm, '--save', ...S);
  assert.is(r.status, 2);
  assert.is(r.stderr, 'hclckpt: error IGVM_ARCH_MISMATCH: restore --igvm: the IGVM is aarch64, the snapshot\'s VM is x86_64\n');
  assert.is((JSON.parse(await ok('ls', '--json', ...S)) as Row[]).length, before);
});

test('restore --igvm without a platform for the snapshot\'s isolation is refused (IGVM_NO_PLATFORM_FOR_ISOLATION)', async () => {
  // A non-isolated VM loads through the VSM platform (igvmfilegen's "none" is VSM_ISOLATION); the
  // CVM package (SNP + TDX + VBS) with its VBS/VSM platform taken out has only SNP and TDX left.
  const json = join(dir, 'x.json');
  await ok('igvm', 'build', '--preset', 'snp', '-o', join(dir, 'x.igvm'));
  await ok('igvm', 'decode', join(dir, 'x.igvm'), '-o', json);
  const d = JSON.parse(readFileSync(json, 'utf8')) as { headers: Array<{ kind: string; platformType?: number; compatibilityMask?: number }> };
  const vsm = d.headers.find((h) => h.kind === 'SUPPORTED_PLATFORM' && h.platformType === PlatformType.VSM_ISOLATION)?.compatibilityMask;
  assert.ok(vsm !== undefined, 'the CVM package has a VSM platform');
  d.headers = d.headers
    .filter((h) => !(h.kind === 'SUPPORTED_PLATFORM' && h.platformType === PlatformType.VSM_ISOLATION))
    .map((h) => (h.compatibilityMask === undefined ? h : { ...h, compatibilityMask: h.compatibilityMask & ~vsm }))
    .filter((h) => h.compatibilityMask !== 0);
  writeFileSync(json, JSON.stringify(d));
  await ok('igvm', 'encode', json, '-o', join(dir, 'novsm.igvm'));
  const r = await runCli('restore', 'small', '--igvm', join(dir, 'novsm.igvm'), ...S);
  assert.is(r.status, 2);
  assert.is(r.stderr, 'hclckpt: error IGVM_NO_PLATFORM_FOR_ISOLATION: restore --igvm: the IGVM has no platform for the snapshot\'s none isolation\n');
});

test('show FILE: an archive is recognised by its magic without the .hclsnap extension; a plain name is a ref', async () => {
  await ok('export', 'small', join(dir, 'a.hclsnap'), ...S);
  copyFileSync(join(dir, 'a.hclsnap'), join(dir, 'snapfile'));
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    const fromFile = JSON.parse(await ok('show', 'snapfile', '--json')) as { manifest: { name: string } };
    assert.is(fromFile.manifest.name, 'small');
    const r = await runCli('show', 'nosuchfile', ...S);
    assert.match(r.stderr, /^hclckpt: error STORE_NOT_FOUND: /);
  } finally {
    process.chdir(cwd);
  }
});

test('show --unit vtl0 prints the host-kept ring control pages; a unit named like an object key is still unknown', async () => {
  await ok('save', '--preset', 'small', '--workload', '5:300', '--name', 'rings', ...S);
  const v = JSON.parse(await ok('show', 'rings', '--unit', 'vtl0', '--json', ...S)) as { state: { rings: Array<{ gpa: string; inp: number; outp: number }> } };
  assert.ok(v.state.rings.length > 0 && v.state.rings.every((r) => typeof r.inp === 'number'), JSON.stringify(v).slice(0, 200));
  const r = await runCli('show', 'rings', '--unit', 'constructor', ...S);
  assert.is(r.status, 2);
  assert.match(r.stderr, /^hclckpt: error STATE_UNKNOWN_UNIT: show rings: no unit constructor \(units: .*, hv, vtl0, init\)/);
});

test('boot topology prints CPU lists as ranges and APIC IDs / MPIDRs in hex', async () => {
  for (const [preset, label] of [['numa', 'apic id'], ['arm64-virt', 'mpidr']] as const) {
    const vps = presetConfig(preset).vps.map((v, index) => ({ ...v, index })).filter((v) => v.vnode === 1);
    const [first, last] = [vps[0]!, vps[vps.length - 1]!];
    assert.is(last.reg - first.reg, vps.length - 1, 'contiguous in this preset');
    const text = await ok('boot', '--preset', preset);
    assert.match(text, `\n  node 1: vps ${first.index}-${last.index} (${label} 0x${first.reg.toString(16)}-0x${last.reg.toString(16)}); ram 0x`);
  }
});

test('prop --replay says when it re-plants the recorded test seam', async () => {
  // The CLI cannot plant a defect: the planted run is made in-process and recorded in the store.
  const planted = await runOne(storeModel, { runs: 2, seed: 7, workers: 1, maxVps: 8, plant: 'gc-drops-live-blob' });
  const st = await openStore(store);
  try {
    await recordRuns(st, [planted]);
  } finally {
    await st.close();
  }
  const replay = await runCli('prop', '--replay', planted.id, ...S);
  assert.match(replay.stderr, 'hclckpt: note: replay re-plants the recorded test seam gc-drops-live-blob\n');
  const [clean] = JSON.parse((await runCli('prop', '--only', 'store-model', '--runs', '1', '--seed', '7', '--json', ...S)).stdout) as Array<{ id: string }>;
  assert.not.match((await runCli('prop', '--replay', clean!.id, ...S)).stderr, 're-plants');
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
