import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CC_ENABLED, CID_KEY_BITS, CSTS_RDY, NvmeManager, QUEUE_BLOCK_BYTES, cidOf } from '../../../lib/hcl/units/index.ts';
import { checkSchema } from '../../../lib/state/unit.ts';
import { NvmeManagerSavedSchema } from '../../../lib/state/nvme-state.ts';
import { testContext, throwsHcl } from './fixture.ts';

const ready = () => {
  const n = new NvmeManager(testContext());
  n.enable(0, 0x10_0000n);
  return n;
};

test('enable programs CC, AQA and the admin queue: 256 entries, CQ after the 4-page SQ', () => {
  const n = new NvmeManager(testContext());
  assert.is(n.view().controllers[0]?.csts, 0);
  n.enable(0, 0x10_0000n);
  const c = n.view().controllers[0];
  assert.is(c?.cc, CC_ENABLED);
  assert.is(c?.csts, CSTS_RDY);
  // driver.rs: admin_len = min(MAX_SQ_ENTRIES, MAX_CQ_ENTRIES) = min(16384 / 64, 4096 / 16) = 256.
  assert.is(c?.aqa, (255 << 16) | 255);
  assert.is(c?.admin?.size, 256);
  // queue_pair.rs new_or_restore: sq = mem.subblock(0, SQ_SIZE), cq = mem.subblock(SQ_SIZE, CQ_SIZE), SQ_SIZE = 4 pages.
  assert.equal([c?.asq, c?.acq], [0x10_0000n, 0x10_4000n]);
  assert.is(n.view().controllers[1]?.admin, null, 'other controller untouched');
});

test('I/O queues take the configured depth, capped at 256 entries (driver.rs qsize)', () => {
  const ctx = testContext();
  ctx.devices.nvme[0]!.queueDepth = 1024;
  const n = new NvmeManager(ctx);
  n.enable(0, 0x1000n);
  n.enable(1, 0x8_0000n);
  n.createIoQueue(0, 0);
  n.createIoQueue(1, 0);
  assert.equal([n.view().controllers[0]?.ioQueues[0]?.size, n.view().controllers[1]?.ioQueues[0]?.size], [256, 4]);
});

test('submit advances the SQ tail and completions wrap the CQ with a phase flip', () => {
  const n = ready();
  const qid = n.createIoQueue(0, 2);
  const size = n.view().controllers[0]?.ioQueues[0]?.size ?? 0;
  for (let round = 0; round < size; round++) {
    assert.ok(n.submit(0, qid, round));
    assert.ok(n.complete(0, qid, round));
    n.reap(0, qid);
  }
  const q = n.view().controllers[0]?.ioQueues[0];
  assert.is(q?.sqTail, 0, 'tail wrapped after size submissions');
  assert.is(q?.cqTail, 0);
  assert.is(q?.phase, false, 'phase flips once per wrap');
});

test('a full SQ refuses a submission; a full CQ refuses a completion until reaped', () => {
  const n = ready();
  const qid = n.createIoQueue(0, 1);
  const size = n.view().controllers[0]?.ioQueues[0]?.size ?? 0;
  for (let i = 0; i < size - 1; i++) assert.ok(n.submit(0, qid, i));
  assert.not.ok(n.submit(0, qid, 999));
  for (let i = 0; i < size - 1; i++) assert.ok(n.complete(0, qid, i));
  assert.ok(n.submit(0, qid, 500));
  assert.not.ok(n.complete(0, qid, 500), 'cq has size-1 unreaped entries');
  assert.is(n.reap(0, qid), size - 1);
  assert.ok(n.complete(0, qid, 500));
});

test('createIoQueue reuses the lowest free qid and stops at the configured count', () => {
  const n = ready();
  const max = n.maxIoQueues(0);
  const qids = Array.from({ length: max }, () => n.createIoQueue(0, 0));
  assert.equal(qids, Array.from({ length: max }, (_, i) => i + 1));
  throwsHcl(() => n.createIoQueue(0, 0), 'HCL_DEVICE_INVALID', `has all ${max} i/o queues`);
  n.deleteIoQueue(0, 2);
  assert.is(n.createIoQueue(0, 0), 2);
});

test('disable resets the controller and drops every queue', () => {
  const n = ready();
  n.submit(0, n.createIoQueue(0, 1), 7);
  n.disable(0);
  const c = n.view().controllers[0];
  assert.equal([c?.cc, c?.csts, c?.admin, c?.ioQueues], [0, 0, null, []]);
  throwsHcl(() => n.submit(0, 0, 1), 'HCL_DEVICE_INVALID', 'nvme: queue 0: controller 0 is not ready');
});

const invalid: Array<[string, (n: NvmeManager) => unknown, string]> = [
  ['queue that does not exist', (n) => n.submit(0, 3, 1), 'queue 3 does not exist on controller 0'],
  ['controller that does not exist', (n) => n.submit(5, 0, 1), 'controller 5 does not exist'],
  ['controller not ready', (n) => n.submit(1, 0, 1), 'controller 1 is not ready'],
  ['duplicate command id', (n) => (n.submit(0, 0, 4), n.submit(0, 0, 4)), 'command id 4 already in flight'],
  ['command id not a u16', (n) => n.submit(0, 0, 0x10000), 'not a u16'],
  ['completing an unknown command', (n) => n.complete(0, 0, 9), 'command id 9 not in flight'],
  ['target VP outside the partition', (n) => n.createIoQueue(0, 4), 'vp 4 out of range'],
  ['deleting the admin queue', (n) => n.deleteIoQueue(0, 0), 'admin queue cannot be deleted'],
  ['deleting a busy queue', (n) => { const q = n.createIoQueue(0, 0); n.submit(0, q, 1); n.deleteIoQueue(0, q); }, 'commands in flight'],
  ['enabling twice', (n) => n.enable(0, 0x1000n), 'already enabled'],
  ['unaligned ASQ', (n) => n.enable(1, 0x1001n), 'asq 0x1001 is not a page address'],
];
for (const [what, op, msg] of invalid) {
  test(`invalid op: ${what}`, () => throwsHcl(() => op(ready()), 'HCL_DEVICE_INVALID', msg));
}

// dispatch/mod.rs LoadedVm::save -> nvme_manager/manager.rs NvmeManager::save(nvme_keepalive):
// `if self.save_restore_supported && nvme_keepalive { Some(..) } else { None }`.
test('save: nothing without keep-alive; with it the real NvmeManagerSavedState', () => {
  const n = ready();
  const busy = n.createIoQueue(0, 3);
  n.createIoQueue(0, 1);
  n.submit(0, busy, 0x123);
  n.submit(0, 0, 5);
  assert.is(n.save(false), undefined);
  const s = n.save(true)!;
  checkSchema('nvme_state', NvmeManagerSavedSchema, s);
  assert.is(s.cpuCount, 4, 'manager.rs save: cpu_count = context.vp_count');
  assert.equal(s.nvmeDisks.map((d) => [d.pciId, d.driverState.deviceId, d.driverState.workerData.admin !== undefined]), [['nvme0', 'nvme0', true], ['nvme1', 'nvme1', false]]);
  const w = s.nvmeDisks[0]!.driverState.workerData;
  assert.equal([w.qsize, w.maxIoQueues], [8, 4]);
  assert.equal([w.admin?.basePfn, w.admin?.memLen, w.admin?.sqEntries], [0x100n, BigInt(QUEUE_BLOCK_BYTES), 256]);
  assert.equal(w.admin?.handlerData.aerHandler, {}, 'the admin queue has an AER handler; I/O queues have none');
  assert.equal(w.io.map((q) => [q.cpu, q.iv, q.queueData.qid, q.queueData.handlerData.pendingCmds.commands.map((c) => cidOf(c.command))]), [[3, 1, 1, [0x123]], [1, 2, 2, []]]);
  assert.is(w.io[0]?.queueData.handlerData.aerHandler, undefined);
  assert.is(w.io[0]?.queueData.handlerData.pendingCmds.cidKeyBits, CID_KEY_BITS);
  assert.equal(w.io[0]?.queueData.handlerData.sqState, { sqid: 1, head: 0, tail: 1, committedTail: 1, len: 8 });
  // Identify Controller: NN (bytes 516..519) is the namespace count; Identify Namespace NSZE is the block count, LBADS log2 of the block size.
  const d = s.nvmeDisks[1]!.driverState;
  assert.is(new DataView(d.identifyCtrl.buffer).getUint32(516, true), 1);
  assert.equal([d.namespaces[0]?.nsid, new DataView(d.namespaces[0]!.identifyNs.buffer).getBigUint64(0, true), d.namespaces[0]?.identifyNs[130]], [1, 64n, 12]);
});

test('save consumes posted completions first: the CQ head is the controller tail', () => {
  const n = ready();
  const qid = n.createIoQueue(0, 2);
  for (const cid of [1, 2, 3]) n.submit(0, qid, cid);
  n.complete(0, qid, 2);
  n.complete(0, qid, 1);
  const cq = n.save(true)!.nvmeDisks[0]!.driverState.workerData.io[0]!.queueData.handlerData.cqState;
  assert.equal(cq, { cqid: 1, head: 2, committedHead: 2, len: 8, phase: true });
  assert.is(n.view().controllers[0]?.ioQueues[0]?.cqHead, 2);
});

test('restore of a saved state gives back the same controllers; of none, fresh ones', () => {
  const n = ready();
  const qid = n.createIoQueue(0, 2);
  n.submit(0, qid, 9);
  n.submit(0, qid, 4);
  n.complete(0, qid, 9);
  const saved = n.save(true)!;
  const m = new NvmeManager(testContext());
  m.restore(saved);
  assert.equal(m.view(), n.view());
  assert.equal(m.save(true), saved);
  m.restore(undefined);
  assert.equal(m.view(), new NvmeManager(testContext()).view());
});

test('restore keeps the identify data and limits the driver was saved with', () => {
  const saved = ready().save(true)!;
  saved.nvmeDisks[0]!.driverState.workerData.maxIoQueues = 1;
  saved.nvmeDisks[0]!.driverState.identifyCtrl[4] = 0x41;
  const m = new NvmeManager(testContext());
  m.restore(saved);
  assert.is(m.maxIoQueues(0), 1);
  assert.is(m.save(true)!.nvmeDisks[0]!.driverState.identifyCtrl[4], 0x41);
  m.createIoQueue(0, 0);
  throwsHcl(() => m.createIoQueue(0, 0), 'HCL_DEVICE_INVALID', 'has all 1 i/o queues');
});

test('restore refuses an unknown or repeated device and a queue on a VP the partition lacks, changing nothing', () => {
  const n = ready();
  n.createIoQueue(0, 3);
  const saved = n.save(true)!;
  const m = ready();
  throwsHcl(() => m.restore({ ...saved, nvmeDisks: [{ ...saved.nvmeDisks[0]!, pciId: 'nvme9' }] }), 'TOPOLOGY_MISMATCH', 'saved device "nvme9" is not an nvme controller of this vm (have nvme0, nvme1)');
  throwsHcl(() => m.restore({ ...saved, nvmeDisks: [saved.nvmeDisks[0]!, saved.nvmeDisks[0]!] }), 'HCL_DEVICE_INVALID', 'device nvme0 saved twice');
  const headless = structuredClone(saved);
  delete headless.nvmeDisks[0]!.driverState.workerData.admin;
  throwsHcl(() => m.restore(headless), 'HCL_DEVICE_INVALID', 'device nvme0 has 1 i/o queues but no admin queue');
  const small = new NvmeManager(testContext(2));
  throwsHcl(() => small.restore(saved), 'TOPOLOGY_MISMATCH', 'nvme0 queue 1 cpu: saved vp 3 but partition has 2 vps');
  assert.equal(m.view(), ready().view());
});

test.run();
