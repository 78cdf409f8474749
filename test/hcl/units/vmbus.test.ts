import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  GuestRingPages, INTERFACE_IDS, NO_MONITOR, VMBUS_STEP, VMBUS_UNIT, VmbusServerUnit, gpadlPages, legacyRings, withLegacyRings,
  type VmbusState, type VmbusStateV3,
} from '../../../lib/hcl/units/index.ts';
import type { InitState } from '../../../lib/state/init-state.ts';
import { testContext, throwsHcl } from './fixture.ts';

// Expected values come from openvmm: vm/devices/vmbus/vmbus_server/src/channels/saved_state.rs
// (message shapes and #[mesh(N)] numbers), vmbus_server/src/lib.rs `SavedState`, vmbus_core
// protocol.rs (`ConnectionId::new`, `Version::Copper`), vmbus_ring gparange.rs (`GpaRange`) and
// vmbus_ring lib.rs `Control` (inp, outp words of a ring's first page).
const PAGES = 8;
const opened = () => {
  const v = new VmbusServerUnit(testContext());
  v.createGpadl(0, 1, [{ gpa: 0x10_0000n, pages: PAGES / 2 }, { gpa: 0x20_0000n, pages: PAGES / 2 }]);
  v.open(0, 2, 1);
  return v;
};
const server = (v: VmbusServerUnit) => v.view().server.state;
const fields = (schema: unknown) => Object.entries((schema as { properties: Record<string, { field: number }> }).properties).map(([k, x]) => `${x.field}:${k}`);

test('the unit is vmbus, typed vmbus.server.SavedState, with the real field numbers', () => {
  // worker.rs state_units.add("vmbus"); lib.rs SavedState {server 1, lost_synic_bug_fixed 2}; channels::SavedState {state 1, pending_messages 3}.
  assert.equal([VMBUS_UNIT.name, VMBUS_UNIT.package, VMBUS_UNIT.message], ['vmbus', 'vmbus.server', 'SavedState']);
  const root = VMBUS_UNIT.generations[0]!.schema as unknown as { properties: { server: { properties: { state: { properties: Record<string, { items?: unknown }> } } } } };
  assert.equal(fields(root), ['1:server', '2:lostSynicBugFixed']);
  assert.equal(fields(root.properties.server), ['1:state', '3:pendingMessages']);
  const connected = root.properties.server.properties.state;
  assert.equal(fields(connected), ['1:connection', '2:channels', '3:gpadls']);
  // Channel {key 1, channel_id 2, offered_connection_id 3, state 4, monitor_id 5}; Gpadl {id 1, channel_id 2, count 3, buf 4, state 5}.
  assert.equal(fields(connected.properties['channels']!.items), ['1:key', '2:channelId', '3:offeredConnectionId', '4:state', '5:monitorId']);
  assert.equal(fields(connected.properties['gpadls']!.items), ['1:id', '2:channelId', '3:count', '4:buf', '5:state']);
});

test('offers follow the config: relids in order, offer keys, connection ids, monitor ids for monitored kinds only', () => {
  const ctx = testContext();
  const s = new VmbusServerUnit(ctx).save();
  const chans = s.server.state.channels;
  assert.equal(chans.map((c) => [c.channelId, c.key.instanceId, c.key.interfaceId, c.key.subchannelIndex]), ctx.devices.channels.map((c, i) => [i + 1, c.instanceId, INTERFACE_IDS[c.kind], 0]));
  assert.equal(INTERFACE_IDS.storvsc, 'ba6163d9-04a1-4d29-b605-72e2ffb1dc7f', 'storvsp_protocol SCSI_INTERFACE_ID');
  // ConnectionId::new(channel_id, Vtl0, VMBUS_SINT = 2) = channel_id | 2 << 12.
  assert.equal(chans.map((c) => c.offeredConnectionId), [0x2001, 0x2002, 0x2003]);
  assert.equal(chans.map((c) => c.monitorId), [0, undefined, 1]);
  assert.ok(chans.every((c) => c.state.closed !== undefined && c.state.open === undefined));
  assert.equal(s.server.state.connection.connected.version, { version: 0x6_0000, featureFlags: 0 }, 'Copper = make_version(6, 0)');
  assert.is(s.lostSynicBugFixed, true, 'lib.rs Save always sets it');
});

test('a GPADL is the connection\'s, its buf GpaRange words then page numbers', () => {
  const v = opened();
  const g = server(v).gpadls[0]!;
  assert.equal([g.id, g.channelId, g.count, g.state], [1, 1, 2, 'accepted']);
  assert.equal(g.buf.slice(0, 2), [BigInt((PAGES / 2) * 4096), 0x100n], 'len in the low word, offset 0, then pfn');
  assert.equal(gpadlPages(g), [0x100n, 0x101n, 0x102n, 0x103n, 0x200n, 0x201n, 0x202n, 0x203n]);
});

test('open records the OpenRequest; the rings split at the downstream offset and their indices live in VTL0 memory', () => {
  const v = opened();
  const o = server(v).channels[0]!.state.open!;
  assert.equal([o.params.openId, o.params.ringBufferGpadlId, o.params.targetVp, o.params.downstreamRingBufferPageOffset, o.params.userData.length], [1, 1, 2, PAGES / 2, 120]);
  assert.equal(v.guest.save().rings.map((r) => r.gpa), [0x10_0000n, 0x20_0000n], 'control pages: the GPADL\'s first page and its page at the downstream offset');
  assert.not.ok('in' in server(v).channels[0]! || 'out' in server(v).channels[0]!, 'no ring position in the unit');
});

test('packets advance the ring\'s inp by the aligned length plus trailer until the ring is full', () => {
  const v = opened();
  const size = (PAGES / 2 - 1) * 4096;
  assert.ok(v.write(0, 'out', 13));
  assert.equal(v.guest.get(0x20_0000n), { inp: 16 + 8, outp: 0 });
  let n = 1;
  while (v.write(0, 'out', 13)) n++;
  assert.is(n, Math.floor((size - 1) / 24), 'one byte kept free');
  assert.is(v.drain(0, 'out'), n * 24);
  assert.ok(v.write(0, 'out', 13), 'room again after the reader drained');
  assert.equal(v.guest.get(0x10_0000n), { inp: 0, outp: 0 }, 'other ring untouched');
});

test('a control page holding an index outside its ring is a corrupt ring (vmbus_ring validate)', () => {
  const v = opened();
  v.guest.set(0x10_0000n, { inp: 3 * 4096, outp: 4 });
  throwsHcl(() => v.write(0, 'in', 8), 'HCL_DEVICE_INVALID', 'control page 0x100000 holds index 12288, outside its 12288-byte ring or unaligned');
});

test('close releases the rings but keeps the GPADL; teardown then succeeds', () => {
  const v = opened();
  v.write(0, 'in', 100);
  throwsHcl(() => v.teardownGpadl(0, 1), 'HCL_DEVICE_INVALID', 'gpadl 1 holds the rings of open channel 0');
  v.close(0);
  assert.equal([server(v).channels[0]!.state, server(v).gpadls.length, v.guest.save().rings], [{ closed: {} }, 1, []]);
  v.teardownGpadl(0, 1);
  assert.equal(v.gpadlIds(0), []);
});

test('retarget moves an open channel to another VP; restore refuses a saved target VP the partition lacks', () => {
  const v = opened();
  v.retarget(0, 3);
  assert.is(v.ringGpadlId(0), 1);
  assert.is(server(v).channels[0]!.state.open?.params.targetVp, 3);
  const s = v.save();
  throwsHcl(() => new VmbusServerUnit(testContext(2)).restore(s), 'TOPOLOGY_MISMATCH', 'vmbus: server.state.channels[0].state.open.params.targetVp: saved vp 3 but partition has 2 vps');
});

test('restore refuses a channel state with no variant or two (a oneof)', () => {
  const s = opened().save();
  const both = structuredClone(s);
  both.server.state.channels[0]!.state.closed = {};
  throwsHcl(() => new VmbusServerUnit(testContext()).restore(both), 'STATE_SCHEMA', 'channels[0].state: 2 variants set (closed, open)');
  const none = structuredClone(s);
  none.server.state.channels[1]!.state = {};
  throwsHcl(() => new VmbusServerUnit(testContext()).restore(none), 'STATE_SCHEMA', 'channels[1].state: 0 variants set (none)');
});

test('restore refuses a GPADL whose buf does not hold its ranges (gparange validate_gpa_ranges)', () => {
  const s = opened().save();
  const short = structuredClone(s);
  short.server.state.gpadls[0]!.buf.pop();
  throwsHcl(() => new VmbusServerUnit(testContext()).restore(short), 'STATE_SCHEMA', 'vmbus: server.state.gpadls[0].buf: gpadl 1: range 1 (len 16384, offset 0) does not fit');
  const more = structuredClone(s);
  more.server.state.gpadls[0]!.count = 3;
  throwsHcl(() => new VmbusServerUnit(testContext()).restore(more), 'STATE_SCHEMA', 'gpadl 1: range 2 is missing');
  const empty = structuredClone(s);
  empty.server.state.gpadls[0]!.buf[0] = 0n;
  throwsHcl(() => new VmbusServerUnit(testContext()).restore(empty), 'STATE_SCHEMA', 'range 0 (len 0, offset 0) does not fit');
});

test('VTL0 ring pages: restore refuses a malformed part, an unaligned or repeated GPA', () => {
  const g = new GuestRingPages();
  throwsHcl(() => g.restore({ rings: [{ gpa: 1n, inp: 0, outp: 0 }] }), 'STATE_SCHEMA', 'vtl0: rings[0].gpa: 0x1 is not page aligned');
  throwsHcl(() => g.restore({ rings: [{ gpa: 0x1000n, inp: 0, outp: 0 }, { gpa: 0x1000n, inp: 8, outp: 0 }] }), 'STATE_SCHEMA', 'vtl0: rings[1].gpa: 0x1000 appears twice');
  throwsHcl(() => g.restore({ rings: [{ gpa: 0x1000n, inp: -1, outp: 0 }] }), 'STATE_SCHEMA', 'vtl0: rings[0].inp');
});

const invalid: Array<[string, (v: VmbusServerUnit) => unknown, string]> = [
  ['channel that does not exist', (v) => v.open(3, 0, 1), 'channel 3 does not exist'],
  ['GPADL id reused across channels', (v) => v.createGpadl(1, 1, [{ gpa: 0x1000n, pages: 1 }]), 'id 1 already in use'],
  ['GPADL id zero', (v) => v.createGpadl(1, 0, [{ gpa: 0x1000n, pages: 1 }]), 'id 0 not in 1..0xffffffff'],
  ['unaligned GPADL range', (v) => v.createGpadl(1, 2, [{ gpa: 0x1800n, pages: 1 }]), 'is not page aligned'],
  ['GPADL range of 4 GiB', (v) => v.createGpadl(1, 2, [{ gpa: 0x1000n, pages: 1 << 20 }]), 'under 4 GiB'],
  ['open twice', (v) => v.open(0, 1, 1), 'channel 0 is already open'],
  ['open on a missing GPADL', (v) => v.open(1, 0, 7), 'channel 1 has no gpadl 7'],
  ['open on another channel\'s GPADL', (v) => v.open(1, 0, 1), 'channel 1 has no gpadl 1'],
  ['ring GPADL too small', (v) => (v.createGpadl(1, 2, [{ gpa: 0x1000n, pages: 3 }]), v.open(1, 0, 2)), 'need an even count ≥ 4'],
  ['target VP out of range', (v) => (v.createGpadl(1, 2, [{ gpa: 0x1000n, pages: 4 }]), v.open(1, 4, 2)), 'vp 4 out of range'],
  ['write to a closed channel', (v) => v.write(1, 'in', 8), 'channel 1 is not open'],
  ['zero-length packet', (v) => v.write(0, 'in', 0), 'packet length 0'],
  ['teardown of a missing GPADL', (v) => v.teardownGpadl(0, 9), 'channel 0 has no gpadl 9'],
];
for (const [what, op, msg] of invalid) test(`invalid op: ${what}`, () => throwsHcl(() => op(opened()), 'HCL_DEVICE_INVALID', msg));

// The generation-4 unit-set step: `vmbus.server.channels` (rings inside) ↔ `vmbus` plus VTL0 ring pages.
const INIT = {} as InitState;
const ring = (id: number, gpa: bigint, pages: number) => ({ id, ranges: [{ gpa, pages }] });
const V3: VmbusStateV3 = {
  channels: [
    { offerId: 1, instanceId: 'ba6163d9-04a1-4d29-b605-72e2ffb1dc7f', kind: 'storvsc', open: true, targetVp: 2, monitorId: 0, gpadls: [ring(4, 0x40_0000n, 8), ring(5, 0x50_0000n, 2)], ringGpadlId: 4, ringSize: 3 * 4096, in: { read: 16, write: 48 }, out: { read: 0, write: 24 } },
    { offerId: 2, instanceId: '00000000-0000-4000-8000-000000000001', kind: 'hvsock', open: false, targetVp: 0, monitorId: NO_MONITOR, gpadls: [], ringGpadlId: 0, ringSize: 0, in: { read: 0, write: 0 }, out: { read: 0, write: 0 } },
  ],
};

test('step up: channels, GPADLs and open requests in the real shape; ring positions become VTL0 control pages', () => {
  const s = VMBUS_STEP.up(new Map([['vmbus.server.channels', V3]]), INIT).units.get('vmbus') as VmbusState;
  const [a, b] = s.server.state.channels;
  assert.equal([a?.channelId, a?.key.interfaceId, a?.monitorId, a?.state.open?.params.downstreamRingBufferPageOffset, a?.state.open?.params.targetVp], [1, INTERFACE_IDS.storvsc, 0, 4, 2]);
  assert.equal([b?.key.interfaceId, b?.monitorId, b?.state.closed], [INTERFACE_IDS.hvsock, undefined, {}]);
  assert.equal(s.server.state.gpadls.map((g) => [g.id, g.channelId, gpadlPages(g).length]), [[4, 1, 8], [5, 1, 2]]);
  // The guest-to-host ring (in) at the GPADL's first page, host-to-guest (out) at page 4.
  assert.equal(legacyRings(V3).rings, [{ gpa: 0x40_0000n, inp: 48, outp: 16 }, { gpa: 0x40_4000n, inp: 24, outp: 0 }]);
  // The restored unit finds the positions there and goes on from them.
  const v = new VmbusServerUnit(testContext());
  v.guest.restore(legacyRings(V3));
  v.restore(s);
  assert.is(v.drain(0, 'in'), 32);
});

test('step down with the positions read back from VTL0 memory gives the generation-3 state again', () => {
  const up = VMBUS_STEP.up(new Map([['vmbus.server.channels', V3]]), INIT).units;
  const down = VMBUS_STEP.down(up, INIT).units.get('vmbus.server.channels') as VmbusStateV3;
  assert.equal(withLegacyRings(down, legacyRings(V3)), V3);
  // A closed channel keeps no target VP in generation 4: it goes back as 0.
  const closedElsewhere = { channels: [{ ...V3.channels[1]!, targetVp: 3 }] };
  const back = VMBUS_STEP.down(VMBUS_STEP.up(new Map([['vmbus.server.channels', closedElsewhere]]), INIT).units, INIT).units.get('vmbus.server.channels') as VmbusStateV3;
  assert.is(back.channels[0]?.targetVp, 0);
});

test('step down refuses what generation 3 cannot express', () => {
  const s = opened().save();
  const foreign = structuredClone(s);
  foreign.server.state.channels[0]!.key.interfaceId = '11111111-2222-4333-8444-555555555555';
  throwsHcl(() => VMBUS_STEP.down(new Map([['vmbus', foreign]]), INIT), 'STATE_GENERATION', 'vmbus: generation 3 cannot express channels[0]: interface id 11111111-2222-4333-8444-555555555555');
  const sub = structuredClone(s);
  sub.server.state.channels[1]!.key.subchannelIndex = 1;
  throwsHcl(() => VMBUS_STEP.down(new Map([['vmbus', sub]]), INIT), 'STATE_GENERATION', 'channels[1]: subchannel 1');
  const uneven = structuredClone(s);
  uneven.server.state.channels[0]!.state.open!.params.downstreamRingBufferPageOffset = 3;
  throwsHcl(() => VMBUS_STEP.down(new Map([['vmbus', uneven]]), INIT), 'STATE_GENERATION', 'channels[0]: rings not in two equal halves of their gpadl');
});

test.run();
