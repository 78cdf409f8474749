import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { MemoryLevel } from 'memory-level';
import { presetConfig } from '../../lib/config/index.ts';
import { SnapshotStore } from '../../lib/store/index.ts';
import { textOf } from '../../lib/store/keys.ts';
import type { Vm } from '../../harness/pipeline.ts';
import { bootWithWorkload, captureVm, failedRestoreOutcome, failedSaveOutcome, restoreSnapshot, saveVm } from '../../harness/servicing.ts';
import { encodeParts } from '../../lib/snapshot/parts.ts';
import { codeOf, repoPath, tempDir } from './helpers.ts';

/**
 * Fault injection (HCLCKPT_FAULT, like OpenHCL's OPENHCL_TEST_CONFIG): one test per point with its
 * documented outcome — the store is byte for byte unchanged, the VM is running again (never left
 * paused), a deadline fault fires SERVICING_TIMEOUT only after the deadline, and the same
 * operation succeeds once the fault is gone. The one fatal point is save-stuck: OpenHCL's
 * servicing watchdog panics (dispatch/mod.rs handle_servicing_inner), so that VM is dead and
 * refuses everything, and the save succeeds on a freshly booted one.
 */

interface World { store: SnapshotStore; vm: Vm; id: string }

async function world(): Promise<World> {
  const store = await SnapshotStore.open({ db: new MemoryLevel(), dir: 'inject-test' });
  const vm = bootWithWorkload(presetConfig('small'), { seed: 11, steps: 100 });
  const { id } = await saveVm(vm, store);
  vm.servicing.resume();
  return { store, vm, id };
}

async function dump(store: SnapshotStore): Promise<string> {
  const out: string[] = [];
  for (const [name, sub] of Object.entries(store.sub)) for await (const [k, v] of sub.iterator()) out.push(`${name}/${textOf(k)}=${Buffer.from(v).toString('base64')}`);
  return out.join('\n');
}

/** One fault point: the operation, and what its failure must look like. */
interface FaultCase {
  fault: string;
  kind: 'save' | 'restore';
  op: (w: World) => Promise<unknown>;
  code: string;
  message: string;
  /** The deadline the operation ran under, ms: the error may not come sooner. */
  deadlineMs?: number;
  /** OpenHCL would not survive it: the VM must be dead afterwards, not running. */
  fatal?: true;
}

const CASES: FaultCase[] = [
  { fault: 'save-fail', kind: 'save', op: (w) => saveVm(w.vm, w.store), code: 'FAULT_INJECTED', message: 'HCLCKPT_FAULT=save-fail' },
  { fault: 'save-stuck', kind: 'save', op: (w) => saveVm(w.vm, w.store, { timeoutMs: 150 }), code: 'SERVICING_TIMEOUT', message: "ns); OpenHCL's servicing watchdog panics here: the vm is dead, not resumed", deadlineMs: 150, fatal: true },
  { fault: 'store-write-fail', kind: 'save', op: (w) => saveVm(w.vm, w.store), code: 'STORE_WRITE_FAILED', message: 'store-write-fail' },
  { fault: 'restore-fail', kind: 'restore', op: (w) => restoreSnapshot(w.store, w.id), code: 'FAULT_INJECTED', message: 'HCLCKPT_FAULT=restore-fail' },
  { fault: 'restore-stuck', kind: 'restore', op: (w) => restoreSnapshot(w.store, w.id, { timeoutMs: 150 }), code: 'SERVICING_TIMEOUT', message: 'past its 150 ms deadline', deadlineMs: 150 },
];

/** Runs `c` under its fault and checks the outcome; returns the problems. */
async function faultOutcome(w: World, c: FaultCase): Promise<string[]> {
  const problems: string[] = [];
  const before = await dump(w.store);
  process.env['HCLCKPT_FAULT'] = c.fault;
  const t0 = performance.now();
  try {
    await c.op(w);
    problems.push(`${c.fault}: the operation succeeded`);
  } catch (e) {
    if (codeOf(e) !== c.code || !(e as Error).message.includes(c.message)) problems.push(`${c.fault}: ${codeOf(e)}: ${(e as Error).message}`);
  } finally {
    delete process.env['HCLCKPT_FAULT'];
  }
  const ms = performance.now() - t0;
  if (c.deadlineMs !== undefined && ms < c.deadlineMs) problems.push(`${c.fault}: failed after ${ms.toFixed(0)} ms, before its ${c.deadlineMs} ms deadline`);
  if ((await dump(w.store)) !== before) problems.push(`${c.fault}: the store changed`);
  if (c.fatal === true) {
    if (w.vm.servicing.crashed === undefined) problems.push(`${c.fault}: the vm lives on after a watchdog panic`);
  } else if (w.vm.servicing.paused) problems.push(`${c.fault}: the vm was left paused`);
  return problems;
}

for (const c of CASES) {
  test(`HCLCKPT_FAULT=${c.fault}: ${c.code}, store unchanged, vm ${c.fatal === true ? 'dead' : 'running'}, then the operation succeeds`, async () => {
    const w = await world();
    assert.equal(await faultOutcome(w, c), []);
    if (c.fatal === true) {
      // The dead VM refuses every further save; the host boots OpenHCL again and that one saves.
      const refused = await c.op(w).then(() => 'saved', (e: unknown) => `${codeOf(e)}: ${(e as Error).message}`);
      assert.match(refused, /^VM_CRASHED: servicing save: refused: the vm is dead: its servicing watchdog panicked/);
      w.vm = bootWithWorkload(presetConfig('small'), { seed: 11, steps: 100 });
    }
    const again = await c.op(w);
    if (c.kind === 'save') {
      assert.ok(w.vm.servicing.paused, 'a successful save pauses the vm');
      w.vm.servicing.resume();
    } else {
      assert.ok((again as Awaited<ReturnType<typeof restoreSnapshot>>).proof.ok);
    }
    assert.equal((await w.store.verify()).problems, []);
    await w.store.close();
  });
}

test('HCLCKPT_FAULT=save-fail through the CLI: exit 1, one error line, nothing saved', async () => {
  const dir = await tempDir();
  const r = spawnSync(process.execPath, [repoPath('bin/hclckpt.mjs'), 'save', '--store', dir, '--preset', 'small'], { env: { ...process.env, HCLCKPT_FAULT: 'save-fail' }, encoding: 'utf8' });
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, /^hclckpt: error FAULT_INJECTED: servicing save: failed by HCLCKPT_FAULT=save-fail/);
  const store = await SnapshotStore.open({ dir });
  assert.equal(await store.list(), []);
  await store.close();
});

test('outcomes: the watchdog panic is watchdog-panic (usermode) for save and restore; an ordinary failed save and the restore deadline are none', async () => {
  const errorOf = async (fault: string, op: () => Promise<unknown>): Promise<unknown> => {
    process.env['HCLCKPT_FAULT'] = fault;
    try {
      await op();
      return undefined;
    } catch (e) {
      return e;
    } finally {
      delete process.env['HCLCKPT_FAULT'];
    }
  };
  const w = await world();
  const panic = await errorOf('save-stuck', () => saveVm(w.vm, w.store, { timeoutMs: 50 }));
  assert.equal(failedSaveOutcome(panic), { layer: 'usermode', kind: 'watchdog-panic' });
  assert.equal(failedRestoreOutcome(panic), { layer: 'usermode', kind: 'watchdog-panic' });
  const other = bootWithWorkload(presetConfig('small'), null);
  const ordinary = await errorOf('save-fail', () => saveVm(other, w.store));
  assert.is(codeOf(ordinary), 'FAULT_INJECTED');
  assert.is(failedSaveOutcome(ordinary), undefined);
  assert.not.ok(other.servicing.paused, 'an ordinary failed save resumes the vm');
  const late = await errorOf('restore-stuck', () => restoreSnapshot(w.store, w.id, { timeoutMs: 50 }));
  assert.is(codeOf(late), 'SERVICING_TIMEOUT');
  assert.is(failedRestoreOutcome(late), undefined, "the restore deadline is hclckpt's own, not OpenHCL's watchdog");
  await w.store.close();
});

test('HCLCKPT_FAULT=save-stuck through the CLI: the watchdog-panic outcome with its layer, one error line, exit 1, nothing saved', async () => {
  const dir = await tempDir();
  const run = (...extra: string[]) => spawnSync(process.execPath, [repoPath('bin/hclckpt.mjs'), 'save', '--store', dir, '--preset', 'small', '--timeout-hint', '100', ...extra], { env: { ...process.env, HCLCKPT_FAULT: 'save-stuck' }, encoding: 'utf8' });
  const r = run();
  assert.is(r.status, 1, r.stderr);
  assert.is(r.stdout, 'save: outcome watchdog-panic (usermode): the vm is dead, nothing was saved\n');
  assert.match(r.stderr, /^hclckpt: error SERVICING_TIMEOUT: servicing [0-9a-f-]{36}: save of unit \S+ passed the deadline by \d+ ns \(timeout 100000000 ns\); OpenHCL's servicing watchdog panics here: the vm is dead, not resumed\n$/);
  const j = run('--json');
  assert.is(j.status, 1, j.stderr);
  const out = JSON.parse(j.stdout) as { outcome: unknown; error: { code: string } };
  assert.equal(out.outcome, { layer: 'usermode', kind: 'watchdog-panic' });
  assert.is(out.error.code, 'SERVICING_TIMEOUT');
  const store = await SnapshotStore.open({ dir });
  assert.equal(await store.list(), []);
  await store.close();
});

test('fault checks catch a save that leaves the vm paused and a failure that still writes (planted defects)', async () => {
  const w = await world();
  // Defect 1: a save without saveVm's resume-on-failure.
  const noResume: FaultCase = {
    ...CASES[2]!,
    op: async ({ vm, store }) => {
      const s = captureVm(vm, { timeoutMs: 30_000, correlationId: crypto.randomUUID() });
      await store.putSnapshot({ name: 'x', parts: encodeParts(s.state, s.unitMeta, s.hv, s.persisted, vm.igvm, s.vtl0) });
    },
  };
  assert.ok((await faultOutcome(w, noResume)).some((p) => p.includes('left paused')));
  w.vm.servicing.resume();
  // Defect 2: a failure reported after something was written.
  const writesFirst: FaultCase = {
    ...CASES[3]!,
    op: async ({ store, id }) => {
      await store.putSnapshot({ name: 'partial', parts: [{ name: 'p', bytes: new Uint8Array([1]) }] });
      return restoreSnapshot(store, id);
    },
  };
  assert.ok((await faultOutcome(w, writesFirst)).some((p) => p.includes('store changed')));
  await w.store.close();
});

test.run();
