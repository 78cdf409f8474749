import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runWorkload } from '../../../harness/workload.ts';
import {
  EVENT_SLOTS, PARTITION_UNIT, VP_FIELD_BYTES, PartitionUnit, VP_LAYOUT_VERSION, VP_OFFSET, VP_STRIDE, checkVp, createUnits, decodeVp, encodeVp, partitionView, resetVp, type VpNamed,
} from '../../../lib/hcl/units/index.ts';
import { HvPartition } from '../../../lib/hv/index.ts';
import { decodeCanonical } from '../../../lib/state/codec.ts';
import { currentGeneration } from '../../../lib/state/unit.ts';
import { defaultRegistry } from '../../../lib/snapshot/registry.ts';
import { testContext, throwsHcl } from './fixture.ts';

// The per-VP bytes are read here with a DataView at the documented offsets, not through decodeVp,
// so the layout is checked from outside the code that writes it.

test('the unit is OpenHCL\'s partition unit: package, message and field numbers of state::Partition / state::Vp', () => {
  // vmm_core/src/partition_unit.rs `mod save_restore`: Partition { #[mesh(1)] partition, #[mesh(2)] vps },
  // Vp { #[mesh(1)] vp_index: u32, #[mesh(2)] data }, both `#[mesh(package = "partition")]`.
  assert.equal([PARTITION_UNIT.name, PARTITION_UNIT.package, PARTITION_UNIT.message], ['partition', 'partition', 'Partition']);
  const u = new PartitionUnit(testContext(3));
  u.run(2);
  const bytes = defaultRegistry().encodeState('partition', currentGeneration(PARTITION_UNIT).generation, u.save());
  const wire = decodeCanonical(bytes, 'partition') as Record<string, unknown>;
  assert.equal(Object.keys(wire), ['1', '2']);
  assert.equal(wire['1'], new Uint8Array(0), 'UhPartition saves NoSavedState: an empty partition blob');
  const vps = wire['2'] as Array<Record<string, unknown>>;
  assert.equal(vps.map((v) => v['1']), [0, 1, 2], 'VpSet::save: one entry per VP, in index order');
  assert.ok(vps.every((v) => v['2'] instanceof Uint8Array && v['2'].length === VP_STRIDE));
  assert.is((vps[2]!['2'] as Uint8Array)[VP_OFFSET.runState], 1);
});

test('layout: 92 bytes, the documented offsets, little-endian MSRs and the IRR bit of each vector', () => {
  assert.is(VP_STRIDE, 92);
  const u = new PartitionUnit(testContext(2));
  u.run(1);
  u.switchVtl(1, 2);
  u.assignSidecar(0);
  u.raiseInterrupt(1, 0x10);
  u.raiseInterrupt(1, 0xff);
  u.injectEvent(1, 'exception', 14);
  u.halt(1);
  u.setScontrol(1, true);
  u.setMessagePage(1, 0x1234_5000n);
  u.setEventPage(1, 0xabc_d000n);
  u.setEventPage(1, null);
  u.configureSint(1, 15, { vector: 0x99, masked: false, autoEoi: true });
  u.postMessage(1, 15);
  const [a, b] = u.save().vps.map((v) => v.data) as [Uint8Array, Uint8Array];
  const d = new DataView(b.buffer, b.byteOffset, b.byteLength);
  assert.equal([...b.subarray(0, 8)], [VP_LAYOUT_VERSION, 1, 2, 0, 1, 1, 1, 0]);
  assert.is(d.getBigUint64(8, true), 0x1234_5001n, 'SIMP: base GPA | enable');
  assert.is(d.getBigUint64(16, true), 0xabc_d000n, 'SIEFP disabled, its address kept');
  assert.equal([b[24 + 2], b[24 + 31]], [0x01, 0x80], 'vectors 0x10 and 0xff');
  assert.equal([b[56 + 30], b[56 + 31]], [0x99, 0b110], 'SINT15: vector, auto-EOI | message pending');
  assert.equal([b[88], b[89], b[90], b[91]], [1, 14, 0, 0], 'one exception #14, the second slot unused');
  assert.equal([...a.subarray(0, 8)], [VP_LAYOUT_VERSION, 0, 0, 1, 0, 0, 0, 0], 'VP 0: reset, VTL0, sidecar');
  assert.equal([...a.subarray(56, 58)], [0, 1], 'a reset SINT: vector 0, masked');
});

test('decode(encode(v)) is v for every VP after a workload, and the same state always gives the same bytes', () => {
  const ctx = testContext(8);
  const units = createUnits(ctx);
  runWorkload(units, new HvPartition(ctx.topology), { seed: 7, steps: 3000 });
  const s = units.partition.save();
  for (const e of s.vps) {
    checkVp(e.data, 0, 'vp');
    const again = new Uint8Array(VP_STRIDE);
    encodeVp(decodeVp(e.data, 0), again, 0, 'vp');
    assert.equal(again, e.data);
  }
  assert.ok(s.vps.some((e) => decodeVp(e.data, 0).synic.sints.some((x) => x.messagePending)), 'the workload posted messages');
});

test('show and diff see each VP by name; bytes off the layout stay bytes', () => {
  const u = new PartitionUnit(testContext(2));
  u.raiseInterrupt(1, 0x41);
  const s = u.save();
  const bad = s.vps[0]!.data.slice();
  bad[0] = 9;
  const view = partitionView({ ...s, vps: [{ vpIndex: 0, data: bad }, s.vps[1]!] }) as { vps: Array<{ data: unknown }> };
  assert.equal(view.vps[0]?.data, bad);
  assert.equal((view.vps[1]?.data as { pendingInterrupts: number[] }).pendingInterrupts, [0x41]);
  assert.equal((view.vps[1]?.data as { synic: { sints: unknown[] } }).synic.sints.length, 16);
  assert.equal(defaultRegistry().view('partition', s), partitionView(s));
  // Compared with another state, only the VPs whose bytes differ are decoded, and of those only the
  // fields whose bytes differ; equal VPs stay bytes on both sides.
  u.raiseInterrupt(0, 0x42);
  const t = u.save();
  const [vs, vt] = [partitionView(s, t), partitionView(t, s)] as Array<{ vps: Array<{ data: unknown }> }>;
  assert.equal([vs!.vps[1]?.data, vt!.vps[1]?.data], [s.vps[1]?.data, t.vps[1]?.data]);
  assert.equal((vt!.vps[0]?.data as { pendingInterrupts: number[] }).pendingInterrupts, [0x42]);
  assert.equal(vs!.vps[0]?.data, { pendingInterrupts: [] });
});

test('the view\'s fields cover every byte of the layout but the version and reserved byte, each once', () => {
  const owner = new Array<string | undefined>(VP_STRIDE).fill(undefined);
  for (const [name, ranges] of Object.entries(VP_FIELD_BYTES)) {
    for (const [from, to] of ranges) for (let i = from; i < to; i++) {
      assert.is(owner[i], undefined, `byte ${i}: ${owner[i]} and ${name}`);
      owner[i] = name;
    }
  }
  assert.equal(owner.flatMap((o, i) => (o === undefined ? [i] : [])), [VP_OFFSET.version, VP_OFFSET.reserved]);
  const view = partitionView(new PartitionUnit(testContext(1)).save()) as { vps: Array<{ data: object }> };
  assert.equal(Object.keys(VP_FIELD_BYTES).sort(), Object.keys(view.vps[0]!.data).sort(), 'one range list per field of the view');
});

const at = (offset: number, value: number): Uint8Array => {
  const b = new Uint8Array(VP_STRIDE);
  encodeVp(resetVp(), b, 0, 'x');
  b[offset] = value;
  return b;
};
const BAD_BYTES: Array<[string, Uint8Array, string]> = [
  ['another layout version', at(VP_OFFSET.version, 2), 'd.version: 2 is not layout version 1'],
  ['no run state', at(VP_OFFSET.runState, 3), 'd.runState: 3 is not a run state (0..2)'],
  ['vtl 1', at(VP_OFFSET.vtl, 1), 'd.vtl: 1 is not vtl 0 or 2'],
  ['no role', at(VP_OFFSET.role, 2), 'd.role: 2 is not a role'],
  ['halted 2', at(VP_OFFSET.halted, 2), 'd.halted: 2 is not 0 or 1'],
  ['scontrol 2', at(VP_OFFSET.scontrol, 2), 'd.scontrol: 2 is not 0 or 1'],
  ['three events', at(VP_OFFSET.eventCount, 3), `d.eventCount: 3 is not at most ${EVENT_SLOTS}`],
  ['reserved byte', at(VP_OFFSET.reserved, 1), 'd.reserved: 1 is not zero'],
  ['SIMP reserved bits', at(VP_OFFSET.simp, 0x02), 'd.simp: 0x2 has reserved bits 11:1 set'],
  ['SIEFP reserved bits', at(VP_OFFSET.siefp + 1, 0x08), 'd.siefp: 0x800 has reserved bits 11:1 set'],
  ['vector 3 pending', at(VP_OFFSET.irr, 0x08), 'd.irr: vectors 0..15 cannot be pending'],
  ['unknown SINT flag', at(VP_OFFSET.sints + 2 * 4 + 1, 0x09), 'd.sints[4]: unknown flag bits'],
  ['unused event slot', at(VP_OFFSET.events + 1, 6), 'd.events[0]: an unused slot is not zero'],
];
for (const [what, bytes, msg] of BAD_BYTES) {
  test(`checkVp refuses ${what} with STATE_SCHEMA and the field's name`, () => throwsHcl(() => checkVp(bytes, 0, 'd'), 'STATE_SCHEMA', msg));
}

test('checkVp refuses an event kind it does not know in a used slot', () => {
  const b = at(VP_OFFSET.eventCount, 1);
  b[VP_OFFSET.events] = 3;
  throwsHcl(() => checkVp(b, 0, 'd'), 'STATE_SCHEMA', 'd.events[0]: kind 3 is not an event kind (0..2)');
});

const UNFIT: Array<[string, (v: VpNamed) => void, string]> = [
  ['three pending events', (v) => { v.vp.pendingEvents = [{ kind: 'nmi', vector: 2 }, { kind: 'nmi', vector: 2 }, { kind: 'nmi', vector: 2 }]; }, 'w: 3 pending events, the per-VP layout holds 2'],
  ['a reserved vector pending', (v) => { v.vp.pendingInterrupts = [15]; }, 'w: pending interrupt vector 15 not in 16..255'],
  ['an unaligned SIMP', (v) => { v.synic.messagePageGpa = 0x1001n; }, 'w: simp gpa 0x1001 is not a page address'],
];
for (const [what, change, msg] of UNFIT) {
  test(`encodeVp refuses ${what}: the layout cannot hold it`, () => {
    const v = resetVp();
    change(v);
    throwsHcl(() => encodeVp(v, new Uint8Array(VP_STRIDE), 0, 'w'), 'STATE_SCHEMA', msg);
  });
}

test.run();
