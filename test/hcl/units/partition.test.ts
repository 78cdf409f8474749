import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PartitionUnit, SINT_COUNT, VP_STRIDE } from '../../../lib/hcl/units/index.ts';
import { testContext, throwsHcl } from './fixture.ts';

// The operations of generation 3's `vp` and `synic` units, now on the partition unit's per-VP bytes.

const running = () => {
  const v = new PartitionUnit(testContext());
  v.run(0);
  return v;
};
const synicLive = () => {
  const s = new PartitionUnit(testContext());
  s.setScontrol(1, true);
  s.setMessagePage(1, 0x5000n);
  s.configureSint(1, 2, { vector: 0x50, masked: false, autoEoi: true });
  return s;
};

test('one entry per topology VP in index order, in reset, VTL0, Linux, SynIC off; the partition blob is empty', () => {
  const ctx = testContext(6);
  const u = new PartitionUnit(ctx);
  const s = u.save();
  assert.equal(s.vps.map((e) => e.vpIndex), ctx.topology.vps.map((v) => v.index));
  assert.ok(s.vps.every((e) => e.data.length === VP_STRIDE));
  assert.is(s.partition.length, 0);
  for (let i = 0; i < 6; i++) {
    const { vp, synic } = u.vpState(i);
    assert.equal([vp.runState, vp.vtl, vp.role, vp.halted], ['reset', 0, 'linux', false]);
    assert.ok(synic.sints.length === SINT_COUNT && synic.sints.every((x) => x.masked && x.vector === 0) && !synic.messagePageEnabled && !synic.scontrol);
  }
});

test('interrupts coalesce, wake a halted VP and are acknowledged highest first', () => {
  const v = running();
  v.halt(0);
  assert.ok(v.vpState(0).vp.halted);
  for (const vec of [0x30, 0xe0, 0x30, 0x41, 0xff, 0x10]) v.raiseInterrupt(0, vec);
  assert.not.ok(v.vpState(0).vp.halted);
  assert.equal(v.vpState(0).vp.pendingInterrupts, [0x10, 0x30, 0x41, 0xe0, 0xff]);
  assert.equal([v.acknowledge(0), v.acknowledge(0), v.acknowledge(0), v.acknowledge(0), v.acknowledge(0)], [0xff, 0xe0, 0x41, 0x30, 0x10]);
  throwsHcl(() => v.acknowledge(0), 'HCL_DEVICE_INVALID', 'partition: acknowledge: vp 0 has no pending interrupt');
});

test('events are delivered in order, at most two wait (PendingEvent0/1); VTL switches toggle', () => {
  const v = running();
  v.halt(0);
  v.injectEvent(0, 'nmi', 2);
  assert.not.ok(v.vpState(0).vp.halted);
  v.injectEvent(0, 'exception', 14);
  throwsHcl(() => v.injectEvent(0, 'intercept', 1), 'HCL_DEVICE_INVALID', 'inject event: vp 0 already has 2 events pending');
  v.deliverEvent(0);
  assert.equal(v.vpState(0).vp.pendingEvents, [{ kind: 'exception', vector: 14 }]);
  v.deliverEvent(0);
  v.injectEvent(0, 'intercept', 255);
  assert.equal(v.vpState(0).vp.pendingEvents, [{ kind: 'intercept', vector: 255 }]);
  // A delivered event leaves no trace: the bytes equal those of a VP that only ever had the last one.
  const w = running();
  w.halt(0);
  w.injectEvent(0, 'intercept', 255);
  assert.equal(v.save().vps[0]?.data, w.save().vps[0]?.data);
  v.switchVtl(0, 2);
  assert.is(v.vpState(0).vp.vtl, 2);
});

test('stop pauses only running VPs and start resumes them', () => {
  const v = running();
  v.stop();
  assert.equal([0, 1, 2, 3].map((i) => v.vpState(i).vp.runState), ['stopped', 'reset', 'reset', 'reset']);
  v.start();
  assert.equal([0, 1, 2, 3].map((i) => v.vpState(i).vp.runState), ['running', 'reset', 'reset', 'reset']);
});

test('sidecar VPs are assigned before start and convert to Linux one way; a boot sets every role', () => {
  const v = new PartitionUnit(testContext());
  v.assignSidecar(3);
  assert.is(v.vpState(3).vp.role, 'sidecar');
  v.convertToLinux(3);
  assert.is(v.vpState(3).vp.role, 'linux');
  throwsHcl(() => v.convertToLinux(3), 'HCL_DEVICE_INVALID', 'vp 3 is already a linux vp');
  v.applyBootRoles(new Set([0, 2]));
  assert.equal([0, 1, 2, 3].map((i) => v.vpState(i).vp.role), ['linux', 'sidecar', 'linux', 'sidecar']);
});

test('SynIC MSR writes land on the addressed VP only; disabling a page keeps its address', () => {
  const s = synicLive();
  s.setEventPage(1, 0x6000n);
  const v = s.vpState(1).synic;
  assert.equal([v.scontrol, v.messagePageGpa, v.eventPageGpa, v.eventPageEnabled], [true, 0x5000n, 0x6000n, true]);
  assert.equal(v.sints[2], { vector: 0x50, masked: false, autoEoi: true, messagePending: false });
  assert.equal(s.vpState(0), new PartitionUnit(testContext()).vpState(0));
  s.setMessagePage(1, null);
  assert.equal([s.vpState(1).synic.messagePageEnabled, s.vpState(1).synic.messagePageGpa], [false, 0x5000n]);
  s.setMessagePage(1, 0xffff_ffff_ffff_f000n);
  assert.equal(s.vpState(1).synic.messagePageGpa, 0xffff_ffff_ffff_f000n);
});

test('a message occupies its slot until EOM; a busy slot refuses the next one; reprogramming keeps it', () => {
  const s = synicLive();
  assert.ok(s.postMessage(1, 2));
  assert.not.ok(s.postMessage(1, 2));
  s.configureSint(1, 2, { vector: 0x60, masked: false, autoEoi: false });
  assert.equal(s.vpState(1).synic.sints[2], { vector: 0x60, masked: false, autoEoi: false, messagePending: true });
  s.endOfMessage(1, 2);
  assert.ok(s.postMessage(1, 2));
});

// vmm_core/src/partition_unit/vp_set.rs `VpSet::restore`: each saved (vp_index, data) goes to
// `self.vps.get(vp_index)`; a missing VP is `RestoreError::UnknownEntryId(format!("vp{}", index))`,
// and a VP no entry names is left as created.
test('restore of a state saved with more VPs fails as the partition unit does: UnknownEntryId("vp2")', () => {
  const saved = new PartitionUnit(testContext(4)).save();
  throwsHcl(() => new PartitionUnit(testContext(2)).restore(saved), 'STATE_UNKNOWN_ENTRY', 'partition: restore failed: unknown entry id: vp2 (the partition has 2 vps)');
});

test('restore of a state saved with fewer VPs restores those and leaves the others fresh', () => {
  const small = new PartitionUnit(testContext(2));
  small.run(1);
  small.setScontrol(0, true);
  const big = new PartitionUnit(testContext(4));
  big.restore(small.save());
  assert.equal([0, 1, 2, 3].map((i) => [i, big.vpState(i).vp.runState, big.vpState(i).synic.scontrol]), [[0, 'reset', true], [1, 'running', false], [2, 'reset', false], [3, 'reset', false]]);
});

test('restore places entries by vp_index, not by position; a VP saved twice or bytes off the layout change nothing', () => {
  const v = running();
  v.raiseInterrupt(0, 0x40);
  const s = v.save();
  const u = new PartitionUnit(testContext());
  u.restore({ ...s, vps: [...s.vps].reverse() });
  assert.equal(u.save(), s);
  const fresh = new PartitionUnit(testContext());
  throwsHcl(() => fresh.restore({ ...s, vps: [s.vps[0]!, s.vps[0]!] }), 'HCL_DEVICE_INVALID', 'partition: restore: vp 0 saved twice');
  const bad = s.vps.map((e) => ({ ...e, data: e.data.slice() }));
  bad[3]!.data[1] = 7; // no run state
  throwsHcl(() => fresh.restore({ ...s, vps: bad }), 'STATE_SCHEMA', 'partition: vps[3].data.runState: 7 is not a run state');
  assert.equal(fresh.save(), new PartitionUnit(testContext()).save(), 'a refused restore leaves the unit as it was');
});

const invalid: Array<[string, (v: PartitionUnit) => unknown, string]> = [
  ['VP out of range', (v) => v.run(4), 'run: vp 4 out of range'],
  ['running twice', (v) => v.run(0), 'vp 0 is already running'],
  ['halt a VP in reset', (v) => v.halt(1), 'halt: vp 1 is not running (reset)'],
  ['reserved vector', (v) => v.raiseInterrupt(0, 15), 'vector 15 not in 16..255'],
  ['event vector', (v) => v.injectEvent(0, 'nmi', 256), 'inject event: vector 256 not in 0..255'],
  ['same VTL', (v) => v.switchVtl(0, 0), 'already in vtl0'],
  ['sidecar after start', (v) => v.assignSidecar(0), 'vp 0 already started'],
  ['no event to deliver', (v) => v.deliverEvent(0), 'has no pending event'],
  ['SINT out of range', (v) => v.configureSint(1, 16, { vector: 0x40, masked: false, autoEoi: false }), 'sint 16 does not exist'],
  ['reserved SINT vector', (v) => v.configureSint(1, 0, { vector: 15, masked: false, autoEoi: false }), 'vector 15 not in 16..255'],
  ['unaligned page', (v) => v.setEventPage(1, 0x6001n), 'siefp: gpa 0x6001 is not a page address'],
  ['page beyond 64 bits', (v) => v.setMessagePage(1, 1n << 64n), 'simp: gpa 0x10000000000000000 is not a page address'],
  ['post to a masked SINT', (v) => v.postMessage(1, 3), 'sint3 on vp 1 is masked'],
  ['post without a message page', (v) => v.postMessage(0, 2), 'vp 0 has no active message page'],
  ['EOM without a message', (v) => v.endOfMessage(1, 2), 'sint2 on vp 1 has no message'],
  ['SynIC VP out of range', (v) => v.setScontrol(9, true), 'vp 9 out of range'],
];
for (const [what, op, msg] of invalid) {
  test(`invalid op: ${what}`, () => {
    const v = synicLive();
    v.run(0);
    throwsHcl(() => op(v), 'HCL_DEVICE_INVALID', `partition: `);
    throwsHcl(() => op(v), 'HCL_DEVICE_INVALID', msg);
  });
}

test.run();
