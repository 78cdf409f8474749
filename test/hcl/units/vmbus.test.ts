import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NO_MONITOR, VmbusChannelsUnit } from '../../../lib/hcl/units/index.ts';
import { testContext, throwsHcl } from './fixture.ts';

const PAGES = 8;
const opened = () => {
  const v = new VmbusChannelsUnit(testContext());
  v.createGpadl(0, 1, [{ gpa: 0x10_0000n, pages: PAGES / 2 }, { gpa: 0x20_0000n, pages: PAGES / 2 }]);
  v.open(0, 2, 1);
  return v;
};

test('offers follow the config: relids in order, monitor ids for monitored kinds only', () => {
  const ctx = testContext();
  const s = new VmbusChannelsUnit(ctx).save();
  assert.equal(s.channels.map((c) => [c.offerId, c.instanceId, c.kind]), ctx.devices.channels.map((c, i) => [i + 1, c.instanceId, c.kind]));
  assert.equal(s.channels.map((c) => c.monitorId), [0, NO_MONITOR, 1]);
});

test('open sizes each ring as half the GPADL minus its header page', () => {
  const c = opened().view().channels[0];
  assert.equal([c?.open, c?.targetVp, c?.ringGpadlId, c?.ringSize], [true, 2, 1, (PAGES / 2 - 1) * 4096]);
});

test('packets advance the write index by the aligned length plus trailer until the ring is full', () => {
  const v = opened();
  const size = v.view().channels[0]?.ringSize ?? 0;
  assert.ok(v.write(0, 'out', 13));
  assert.is(v.view().channels[0]?.out.write, 16 + 8);
  let n = 1;
  while (v.write(0, 'out', 13)) n++;
  assert.is(n, Math.floor((size - 1) / 24), 'one byte kept free');
  assert.is(v.drain(0, 'out'), n * 24);
  assert.ok(v.write(0, 'out', 13), 'room again after the reader drained');
  assert.equal(v.view().channels[0]?.in, { read: 0, write: 0 }, 'other ring untouched');
});

test('close releases the rings but keeps the GPADL; teardown then succeeds', () => {
  const v = opened();
  v.write(0, 'in', 100);
  throwsHcl(() => v.teardownGpadl(0, 1), 'HCL_DEVICE_INVALID', 'gpadl 1 holds the rings of open channel 0');
  v.close(0);
  const c = v.view().channels[0];
  assert.equal([c?.open, c?.ringSize, c?.in, c?.gpadls.length], [false, 0, { read: 0, write: 0 }, 1]);
  v.teardownGpadl(0, 1);
  assert.is(v.view().channels[0]?.gpadls.length, 0);
});

test('retarget moves an open channel to another VP', () => {
  const v = opened();
  v.retarget(0, 3);
  assert.is(v.view().channels[0]?.targetVp, 3);
});

const invalid: Array<[string, (v: VmbusChannelsUnit) => unknown, string]> = [
  ['channel that does not exist', (v) => v.open(3, 0, 1), 'channel 3 does not exist'],
  ['GPADL id reused across channels', (v) => v.createGpadl(1, 1, [{ gpa: 0x1000n, pages: 1 }]), 'id 1 already in use'],
  ['GPADL id zero', (v) => v.createGpadl(1, 0, [{ gpa: 0x1000n, pages: 1 }]), 'id 0 not in 1..0xffffffff'],
  ['unaligned GPADL range', (v) => v.createGpadl(1, 2, [{ gpa: 0x1800n, pages: 1 }]), 'is not page aligned'],
  ['open twice', (v) => v.open(0, 1, 1), 'channel 0 is already open'],
  ['open on a missing GPADL', (v) => v.open(1, 0, 7), 'channel 1 has no gpadl 7'],
  ['ring GPADL too small', (v) => (v.createGpadl(1, 2, [{ gpa: 0x1000n, pages: 3 }]), v.open(1, 0, 2)), 'need an even count ≥ 4'],
  ['target VP out of range', (v) => (v.createGpadl(1, 2, [{ gpa: 0x1000n, pages: 4 }]), v.open(1, 4, 2)), 'vp 4 out of range'],
  ['write to a closed channel', (v) => v.write(1, 'in', 8), 'channel 1 is not open'],
  ['zero-length packet', (v) => v.write(0, 'in', 0), 'packet length 0'],
  ['teardown of a missing GPADL', (v) => v.teardownGpadl(0, 9), 'channel 0 has no gpadl 9'],
];
for (const [what, op, msg] of invalid) test(`invalid op: ${what}`, () => throwsHcl(() => op(opened()), 'HCL_DEVICE_INVALID', msg));

test.run();
