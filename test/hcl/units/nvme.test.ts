import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CC_ENABLED, CSTS_RDY, NvmeUnit, cpusWithOutstandingIo } from '../../../lib/hcl/units/index.ts';
import { downgrade } from '../../../lib/state/downgrade.ts';
import { defaultRegistry } from '../../../lib/snapshot/index.ts';
import { testContext, throwsHcl } from './fixture.ts';

const ready = () => {
  const n = new NvmeUnit(testContext());
  n.enable(0, 0x10_0000n, 0x20_0000n);
  return n;
};

test('enable programs CC, AQA and the admin queue from the configured depth', () => {
  const n = new NvmeUnit(testContext());
  assert.is(n.view().controllers[0]?.csts, 0);
  n.enable(0, 0x10_0000n, 0x20_0000n);
  const c = n.view().controllers[0];
  assert.is(c?.cc, CC_ENABLED);
  assert.is(c?.csts, CSTS_RDY);
  const depth = testContext().devices.nvme[0]?.queueDepth ?? 0;
  assert.is(c?.aqa, ((depth - 1) << 16) | (depth - 1));
  assert.is(c?.admin?.size, depth);
  assert.is(n.view().controllers[1]?.admin, null, 'other controller untouched');
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

test('cpusWithOutstandingIo lists target VPs of queues with work in flight', () => {
  const n = ready();
  const a = n.createIoQueue(0, 3);
  const b = n.createIoQueue(0, 1);
  n.createIoQueue(0, 2);
  n.submit(0, a, 1);
  n.submit(0, b, 2);
  assert.equal(cpusWithOutstandingIo(n.save()), [1, 3]);
  n.complete(0, b, 2);
  assert.equal(cpusWithOutstandingIo(n.save()), [3]);
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

test('disable resets the controller and drops every queue; AQA/ASQ/ACQ keep their values', () => {
  const n = ready();
  n.submit(0, n.createIoQueue(0, 1), 7);
  n.disable(0);
  const c = n.save().controllers[0];
  assert.equal([c?.cc, c?.csts, c?.admin, c?.ioQueues], [0, 0, null, []]);
  assert.is(c?.asq, 0x10_0000n);
  throwsHcl(() => n.submit(0, 0, 1), 'HCL_DEVICE_INVALID', 'nvme: queue 0: controller 0 is not ready');
});

const invalid: Array<[string, (n: NvmeUnit) => unknown, string]> = [
  ['queue that does not exist', (n) => n.submit(0, 3, 1), 'queue 3 does not exist on controller 0'],
  ['controller that does not exist', (n) => n.submit(5, 0, 1), 'controller 5 does not exist'],
  ['controller not ready', (n) => n.submit(1, 0, 1), 'controller 1 is not ready'],
  ['duplicate command id', (n) => (n.submit(0, 0, 4), n.submit(0, 0, 4)), 'command id 4 already in flight'],
  ['command id not a u16', (n) => n.submit(0, 0, 0x10000), 'not a u16'],
  ['completing an unknown command', (n) => n.complete(0, 0, 9), 'command id 9 not in flight'],
  ['target VP outside the partition', (n) => n.createIoQueue(0, 4), 'vp 4 out of range'],
  ['deleting the admin queue', (n) => n.deleteIoQueue(0, 0), 'admin queue cannot be deleted'],
  ['deleting a busy queue', (n) => { const q = n.createIoQueue(0, 0); n.submit(0, q, 1); n.deleteIoQueue(0, q); }, 'commands in flight'],
  ['enabling twice', (n) => n.enable(0, 0x1000n, 0x2000n), 'already enabled'],
  ['unaligned ASQ', (n) => n.enable(1, 0x1001n, 0x2000n), 'asq 0x1001 is not a page address'],
  ['INTMS vector out of range', (n) => n.setInterruptMask(0, 32, true), 'vector 32 not in 0..31'],
];
for (const [what, op, msg] of invalid) {
  test(`invalid op: ${what}`, () => throwsHcl(() => op(ready()), 'HCL_DEVICE_INVALID', msg));
}

test('INTMS sets and clears mask bits', () => {
  const n = ready();
  n.setInterruptMask(0, 31, true);
  n.setInterruptMask(0, 3, true);
  assert.is(n.view().controllers[0]?.intms, 2 ** 31 + 8);
  n.setInterruptMask(0, 31, false);
  assert.is(n.view().controllers[0]?.intms, 8);
});

// Generation 1 has no coalescing field, so a queue with either half of the setting non-zero
// cannot be written there (the downgrader in lib/hcl/units/nvme.ts; NVMe 2.0 Feature 08h has
// both an aggregation time and an aggregation threshold, each meaningful alone).
for (const setting of [{ time: 5, threshold: 0 }, { time: 0, threshold: 5 }]) {
  test(`downgrade to generation 1 refuses coalescing with only ${setting.time === 0 ? 'the threshold' : 'the time'} set`, () => {
    const n = ready();
    const qid = n.createIoQueue(0, 1);
    n.setInterruptCoalescing(0, qid, setting);
    throwsHcl(() => downgrade('nvme', n.save(), 1, defaultRegistry()), 'STATE_GENERATION', `queue ${qid} has interrupt coalescing (time ${setting.time}, threshold ${setting.threshold})`);
    n.setInterruptCoalescing(0, qid, { time: 0, threshold: 0 });
    assert.not.ok('interruptCoalescing' in ((downgrade('nvme', n.save(), 1, defaultRegistry()) as { controllers: Array<{ ioQueues: object[] }> }).controllers[0]?.ioQueues[0] ?? {}), 'all-zero coalescing is written as generation 1');
  });
}

test.run();
