import { Type } from '@sinclair/typebox';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UNIT_DESCRIPTORS } from '../../lib/hcl/units/index.ts';
import { presetConfig } from '../../lib/config/index.ts';
import { defaultRegistry } from '../../lib/snapshot/registry.ts';
import { decodeCanonical, encodeCanonical, encodeCanonicalWire } from '../../lib/state/codec.ts';
import { checkFieldNumbers, decodeFields, encodeFields, enumOf, field, nameKeyed } from '../../lib/state/fields.ts';
import { InitStateSchema } from '../../lib/state/init-state.ts';
import { currentGeneration, u64, uint } from '../../lib/state/unit.ts';
import { runWorkload } from '../../harness/workload.ts';
import { boot } from '../../harness/pipeline.ts';
import { throwsHcl } from '../hcl/units/fixture.ts';

// The rules these tests hold the codec to are OpenVMM's (Guide/src/dev_guide/contrib/save-state.md,
// "Updating (Extending) Saved State"): fields by number, a missing field takes its default
// (numbers 0, strings "", vecs empty, Option None), unknown fields are ignored, enums have no
// default and must be wrapped in Option to be added.

const V1 = Type.Object({
  count: field(1, uint(16)),
  addr: field(2, u64()),
  mode: field(3, Type.Union([Type.Literal('off'), Type.Literal('on')])),
  tags: field(4, Type.Array(Type.String())),
  inner: field(5, Type.Object({ a: field(1, Type.Boolean()), b: field(2, Type.Integer({ minimum: -5, maximum: 5 })) })),
  opt: field(6, Type.Optional(Type.String())),
  maybe: field(7, Type.Union([Type.Object({ x: field(1, uint(8)) }), Type.Null()])),
  buf: field(8, Type.Uint8Array()),
});
const value = { count: 7, addr: 0x1_0000_0000n, mode: 'on', tags: ['x', 'y'], inner: { a: true, b: -3 }, opt: 'o', maybe: { x: 9 }, buf: Uint8Array.of(1, 2) };

test('a value round-trips, and the bytes are a map keyed by field numbers in ascending order (no names)', () => {
  const bytes = encodeFields(V1, value);
  assert.equal(decodeFields(V1, bytes, 't'), value);
  const raw = decodeCanonical(bytes, 't') as Record<string, unknown>;
  assert.equal(Object.keys(raw), ['1', '2', '3', '4', '5', '6', '7', '8']);
  assert.is(raw['3'], 2, 'enum value as its 1-based position');
  assert.is(raw['2'], 0x1_0000_0000n, 'u64 stays a bigint');
  assert.not.ok(new TextDecoder().decode(bytes).includes('count'), 'no field name in the bytes');
  // Canonical: the same value with keys inserted in another order gives the same bytes.
  const shuffled = Object.fromEntries(Object.entries(value).reverse());
  assert.equal(encodeFields(V1, shuffled), bytes);
  // Exactly the bytes of a hand-built map with integer keys.
  assert.equal(encodeFields(Type.Object({ b: field(2, uint(8)), a: field(1, Type.String()) }), { b: 5, a: 'q' }), encodeCanonicalWire(new Map<number, unknown>([[1, 'q'], [2, 5]])));
});

test('missing fields take their default; absent optional and nullable fields stay absent / null', () => {
  const bytes = encodeCanonicalWire(new Map([[3, 1]]));
  assert.equal(decodeFields(V1, bytes, 't'), { count: 0, addr: 0n, mode: 'off', tags: [], inner: { a: false, b: 0 }, maybe: null, buf: new Uint8Array(0) });
  const none = encodeFields(V1, { ...value, opt: undefined, maybe: null });
  assert.equal(Object.keys(decodeCanonical(none, 't') as object), ['1', '2', '3', '4', '5', '8'], 'None is not written');
});

test('unknown field numbers are ignored (state from a newer release), a renamed field still reads', () => {
  const newer = Type.Object({ ...V1.properties, extra: field(9, Type.String()) });
  const bytes = encodeFields(newer, { ...value, extra: 'new' });
  assert.equal(decodeFields(V1, bytes, 't'), value);
  const renamed = Type.Object({ ...V1.properties, total: V1.properties.count });
  delete (renamed.properties as Record<string, unknown>)['count'];
  assert.is((decodeFields(renamed, bytes, 't') as { total: number }).total, 7);
});

test('a missing enum has no default: STATE_DECODE names the field', () => {
  throwsHcl(() => decodeFields(V1, encodeCanonicalWire(new Map()), 'snap part unit/x'), 'STATE_DECODE', 'snap part unit/x: $.mode: enum field missing (an enum has no default)');
});

test('bad bytes are STATE_DECODE with the field path: not a message, not a number key, unknown enum value, not an array', () => {
  throwsHcl(() => decodeFields(V1, encodeCanonical([1]), 'c'), 'STATE_DECODE', 'c: $: expected a message (a map of field numbers)');
  throwsHcl(() => decodeFields(V1, encodeCanonical({ count: 1 }), 'c'), 'STATE_DECODE', 'c: $: key "count" is not a field number');
  throwsHcl(() => decodeFields(V1, encodeCanonicalWire(new Map([[3, 7]])), 'c'), 'STATE_DECODE', 'c: $.mode: enum value 7 unknown (have 1, 2)');
  throwsHcl(() => decodeFields(V1, encodeCanonicalWire(new Map<number, unknown>([[3, 1], [4, 'x']])), 'c'), 'STATE_DECODE', 'c: $.tags: expected a repeated field (an array)');
  throwsHcl(() => decodeFields(V1, Uint8Array.of(0x81), 'c'), 'STATE_DECODE', 'c: cannot decode msgpack');
});

test('schemas without numbers, with a shared number or a type without encoding are refused up front', () => {
  assert.throws(() => checkFieldNumbers(Type.Object({ a: uint(8) }), 'u'), /u\.a: no field number/);
  assert.throws(() => checkFieldNumbers(Type.Object({ a: field(1, uint(8)), b: field(1, uint(8)) }), 'u'), /fields a and b share number 1/);
  assert.throws(() => checkFieldNumbers(Type.Object({ a: field(1, Type.Record(Type.String(), Type.String())) }), 'u'), /has no field-numbered encoding/);
  assert.throws(() => field(0, uint(8)), /not a positive integer/);
});

// mesh numbers enum variants explicitly (`#[mesh(N)]`), so the order of the declaration is not in the bytes.
test('enumOf: each value is written as its own number, whatever the declaration order; unknown numbers are STATE_DECODE', () => {
  const Run = Type.Object({ state: field(1, enumOf({ running: 2, reset: 1, stopped: 5 })) });
  const bytes = encodeFields(Run, { state: 'stopped' });
  assert.equal(bytes, encodeCanonicalWire(new Map([[1, 5]])));
  assert.equal(decodeFields(Run, encodeCanonicalWire(new Map([[1, 2]])), 'r'), { state: 'running' });
  throwsHcl(() => decodeFields(Run, encodeCanonicalWire(new Map([[1, 3]])), 'r'), 'STATE_DECODE', 'r: $.state: enum value 3 unknown (have 2, 1, 5)');
  // The same numbers as a plain union's positions give the same bytes: converting a union to enumOf keeps them.
  const plain = Type.Object({ state: field(1, Type.Union([Type.Literal('reset'), Type.Literal('running')])) });
  const numbered = Type.Object({ state: field(1, enumOf({ running: 2, reset: 1 })) });
  for (const state of ['reset', 'running']) assert.equal(encodeFields(numbered, { state }), encodeFields(plain, { state }), state);
});

test('enumOf refuses a number shared, reserved, not a positive integer, and an empty enum; a half-numbered union is refused up front', () => {
  assert.throws(() => enumOf({ a: 1, b: 1 }), /enumOf: a and b share number 1/);
  assert.throws(() => enumOf({ a: 1, b: 2 }, { reserved: [2] }), /enumOf: b: number 2 is reserved/);
  assert.throws(() => enumOf({ a: 0 }), /enumOf: a: number 0 is not a positive integer/);
  assert.throws(() => enumOf({}), /at least one value/);
  const half = Type.Union([Type.Literal('a', { enumNumber: 2 }), Type.Literal('b')]);
  assert.throws(() => checkFieldNumbers(Type.Object({ e: field(1, half) }), 'u'), /u\.e: an enum numbers all its values or none/);
  const clash = Type.Union([Type.Literal('a', { enumNumber: 2 }), Type.Literal('b', { enumNumber: 2 })]);
  assert.throws(() => checkFieldNumbers(Type.Object({ e: field(1, clash) }), 'u'), /u\.e: enum values share a number/);
});

test('init state firmwareType carries servicing.rs Firmware\'s mesh numbers (Uefi 1, Pcat 2, None 3)', () => {
  const init = (firmwareType: string) => ({ firmwareType, vmStopReferenceTime: 0n, emuplat: { rtcLocalClock: { offsetFromHostTimeMillis: 0n }, netvspState: [] }, overlayShutdownDevice: false });
  for (const [v, n] of [['uefi', 1], ['pcat', 2], ['none', 3]] as const) {
    assert.is((decodeCanonical(encodeFields(InitStateSchema, init(v)), 'i') as Record<string, unknown>)['1'], n, v);
  }
});

test('nameKeyed strips numbers and reservations only: validation and the JSON schema are otherwise the same', () => {
  const s = Type.Object({ a: field(1, uint(8)), e: field(2, enumOf({ x: 2, y: 1 }, { reserved: [3] })) }, { reserved: [3] });
  assert.equal(JSON.parse(JSON.stringify(nameKeyed(s))), {
    type: 'object', required: ['a', 'e'], properties: { a: { type: 'integer', minimum: 0, maximum: 255 }, e: { anyOf: [{ const: 'x', type: 'string' }, { const: 'y', type: 'string' }] } },
  });
});

test('every unit: its current generation is field-numbered, and its booted state after a workload round-trips through the registry', () => {
  const vm = boot(presetConfig('numa'));
  runWorkload(vm.units, vm.hv, { seed: 5, steps: 300 });
  const registry = defaultRegistry();
  for (const d of UNIT_DESCRIPTORS) {
    const g = currentGeneration(d);
    assert.is(g.wire, 'fields', d.name);
    const unit = vm.units.all.find((u) => u.name === d.name);
    if (unit === undefined) {
      assert.is(d.package, 'serial.uart16550', `${d.name}: only a COM port the preset does not configure has no live unit`);
      continue;
    }
    const state = unit.save();
    const bytes = registry.encodeState(d.name, g.generation, state);
    assert.equal(registry.decodeState(d.name, g.generation, bytes, d.name), state, d.name);
    assert.ok(bytes.length < encodeCanonical(state).length, `${d.name}: numbered bytes ${bytes.length} vs name-keyed ${encodeCanonical(state).length}`);
  }
});

test.run();
