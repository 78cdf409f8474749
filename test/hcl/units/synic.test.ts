import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SINT_COUNT, SynicUnit } from '../../../lib/hcl/units/index.ts';
import { testContext, throwsHcl } from './fixture.ts';

const live = () => {
  const s = new SynicUnit(testContext());
  s.setScontrol(1, true);
  s.setMessagePage(1, 0x5000n);
  s.configureSint(1, 2, { vector: 0x50, masked: false, autoEoi: true });
  return s;
};

test('reset state: 16 masked SINTs per VP, pages disabled', () => {
  const s = new SynicUnit(testContext(3)).save();
  assert.is(s.vps.length, 3);
  assert.ok(s.vps.every((v) => v.sints.length === SINT_COUNT && v.sints.every((x) => x.masked) && !v.messagePageEnabled));
});

test('MSR writes land on the addressed VP only', () => {
  const s = live();
  s.setEventPage(1, 0x6000n);
  const v = s.view().vps;
  assert.equal([v[1]?.scontrol, v[1]?.messagePageGpa, v[1]?.eventPageGpa], [true, 0x5000n, 0x6000n]);
  assert.equal(v[1]?.sints[2], { vector: 0x50, masked: false, autoEoi: true, messagePending: false });
  assert.equal(v[0], new SynicUnit(testContext()).view().vps[0]);
  s.setMessagePage(1, null);
  assert.equal([s.view().vps[1]?.messagePageEnabled, s.view().vps[1]?.messagePageGpa], [false, 0x5000n]);
});

test('a message occupies its slot until EOM; a busy slot refuses the next one', () => {
  const s = live();
  assert.ok(s.postMessage(1, 2));
  assert.not.ok(s.postMessage(1, 2));
  s.endOfMessage(1, 2);
  assert.ok(s.postMessage(1, 2));
});

const invalid: Array<[string, (s: SynicUnit) => unknown, string]> = [
  ['SINT out of range', (s) => s.configureSint(1, 16, { vector: 0x40, masked: false, autoEoi: false }), 'sint 16 does not exist'],
  ['reserved vector', (s) => s.configureSint(1, 0, { vector: 15, masked: false, autoEoi: false }), 'vector 15 not in 16..255'],
  ['unaligned page', (s) => s.setEventPage(1, 0x6001n), 'siefp: gpa 0x6001 is not a page address'],
  ['post to a masked SINT', (s) => s.postMessage(1, 3), 'sint3 on vp 1 is masked'],
  ['post without a message page', (s) => s.postMessage(0, 2), 'vp 0 has no active message page'],
  ['EOM without a message', (s) => s.endOfMessage(1, 2), 'sint2 on vp 1 has no message'],
  ['VP out of range', (s) => s.setScontrol(9, true), 'vp 9 out of range'],
];
for (const [what, op, msg] of invalid) test(`invalid op: ${what}`, () => throwsHcl(() => op(live()), 'HCL_DEVICE_INVALID', msg));

// SynIC state is per VP, so it restores like the partition unit's per-VP blobs
// (vmm_core/src/partition_unit/vp_set.rs `VpSet::restore`): an entry beyond the VP count is UnknownEntryId("vpN").
test('restore: entries for VPs the partition lacks fail with UnknownEntryId; missing VPs stay fresh', () => {
  const s = new SynicUnit(testContext(3)).save();
  throwsHcl(() => new SynicUnit(testContext(2)).restore(s), 'STATE_UNKNOWN_ENTRY', 'synic: restore failed: unknown entry id: vp2');
  const one = new SynicUnit(testContext(1));
  one.setScontrol(0, true);
  const big = new SynicUnit(testContext(3));
  big.restore(one.save());
  assert.equal(big.save(), { vps: [one.save().vps[0]!, ...new SynicUnit(testContext(3)).save().vps.slice(1)] });
});

test.run();
