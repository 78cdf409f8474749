import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VpUnit } from '../../../lib/hcl/units/index.ts';
import { testContext, throwsHcl } from './fixture.ts';

const running = () => {
  const v = new VpUnit(testContext());
  v.run(0);
  return v;
};

test('one entry per topology VP, in reset, VTL0, Linux', () => {
  const ctx = testContext(6);
  const s = new VpUnit(ctx).save();
  assert.equal(s.vps.map((e) => e.index), ctx.topology.vps.map((v) => v.index));
  assert.ok(s.vps.every((e) => e.runState === 'reset' && e.vtl === 0 && e.role === 'linux'));
});

test('interrupts coalesce, wake a halted VP and are acknowledged highest first', () => {
  const v = running();
  v.halt(0);
  assert.ok(v.view().vps[0]?.halted);
  for (const vec of [0x30, 0xe0, 0x30, 0x41]) v.raiseInterrupt(0, vec);
  assert.not.ok(v.view().vps[0]?.halted);
  assert.equal([v.acknowledge(0), v.acknowledge(0), v.acknowledge(0)], [0xe0, 0x41, 0x30]);
  throwsHcl(() => v.acknowledge(0), 'HCL_DEVICE_INVALID', 'vp: acknowledge: vp 0 has no pending interrupt');
});

test('events are delivered in order; VTL switches toggle', () => {
  const v = running();
  v.injectEvent(0, 'nmi', 2);
  v.injectEvent(0, 'exception', 14);
  v.deliverEvent(0);
  assert.equal(v.view().vps[0]?.pendingEvents, [{ kind: 'exception', vector: 14 }]);
  v.switchVtl(0, 2);
  assert.is(v.view().vps[0]?.vtl, 2);
});

test('stop pauses only running VPs and start resumes them', () => {
  const v = running();
  v.stop();
  assert.equal(v.view().vps.map((e) => e.runState), ['stopped', 'reset', 'reset', 'reset']);
  v.start();
  assert.equal(v.view().vps.map((e) => e.runState), ['running', 'reset', 'reset', 'reset']);
});

test('sidecar VPs are assigned before start and convert to Linux one way', () => {
  const v = new VpUnit(testContext());
  v.assignSidecar(3);
  assert.is(v.view().vps[3]?.role, 'sidecar');
  v.convertToLinux(3);
  assert.is(v.view().vps[3]?.role, 'linux');
  throwsHcl(() => v.convertToLinux(3), 'HCL_DEVICE_INVALID', 'vp 3 is already a linux vp');
});

// vmm_core/src/partition_unit/vp_set.rs `VpSet::restore`: each saved (vp_index, data) goes to
// `self.vps.get(vp_index)`; a missing VP is `RestoreError::UnknownEntryId(format!("vp{}", index))`,
// and a VP no entry names is left as created.
test('restore of a state saved with more VPs fails as the partition unit does: UnknownEntryId("vp2")', () => {
  const saved = new VpUnit(testContext(4)).save();
  throwsHcl(() => new VpUnit(testContext(2)).restore(saved), 'STATE_UNKNOWN_ENTRY', 'vp: restore failed: unknown entry id: vp2 (the partition has 2 vps)');
});

test('restore of a state saved with fewer VPs restores those and leaves the others fresh', () => {
  const small = new VpUnit(testContext(2));
  small.run(1);
  const big = new VpUnit(testContext(4));
  big.restore(small.save());
  assert.equal(big.view().vps.map((e) => [e.index, e.runState]), [[0, 'reset'], [1, 'running'], [2, 'reset'], [3, 'reset']]);
});

test('restore places entries by vp_index, not by position; a VP saved twice is refused', () => {
  const v = running();
  const s = v.save();
  const u = new VpUnit(testContext());
  u.restore({ vps: [...s.vps].reverse() });
  assert.equal(u.save(), s);
  throwsHcl(() => u.restore({ vps: [s.vps[0]!, s.vps[0]!] }), 'HCL_DEVICE_INVALID', 'vp: restore: vp 0 saved twice');
});

const invalid: Array<[string, (v: VpUnit) => unknown, string]> = [
  ['VP out of range', (v) => v.run(4), 'run: vp 4 out of range'],
  ['running twice', (v) => v.run(0), 'vp 0 is already running'],
  ['halt a VP in reset', (v) => v.halt(1), 'halt: vp 1 is not running (reset)'],
  ['reserved vector', (v) => v.raiseInterrupt(0, 15), 'vector 15 not in 16..255'],
  ['same VTL', (v) => v.switchVtl(0, 0), 'already in vtl0'],
  ['sidecar after start', (v) => v.assignSidecar(0), 'vp 0 already started'],
  ['no event to deliver', (v) => v.deliverEvent(0), 'has no pending event'],
];
for (const [what, op, msg] of invalid) test(`invalid op: ${what}`, () => throwsHcl(() => op(running()), 'HCL_DEVICE_INVALID', msg));

test.run();
