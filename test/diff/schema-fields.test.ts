import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Type, type TSchema } from '@sinclair/typebox';
import { checkSchemaCompat } from '../../lib/diff/index.ts';
import { enumOf, field } from '../../lib/state/fields.ts';
import { jsonSchema, type SchemaDump } from '../../lib/state/registry.ts';
import { u64, uint } from '../../lib/state/unit.ts';

// `schema check` on field-numbered schemas follows OpenVMM's rules (Guide/src/dev_guide/contrib/
// save-state.md): protobuf's "updating a message" rules, `i32` is `sint32` (so i32 → u32 breaks),
// plain arrays and enums are not supported as new fields (wrap them in Option), missing fields
// read as their default and unknown fields are ignored.

const fields = (): Record<string, TSchema> => ({
  mode: field(1, Type.Union([Type.Literal('off'), Type.Literal('on')])),
  count: field(2, uint(32)),
  addr: field(3, u64()),
  items: field(4, Type.Array(Type.Object({ id: field(1, uint(16)), tail: field(2, uint(16)) }))),
  level: field(5, Type.Optional(uint(8))),
});
const dumpOf = (schema: TSchema, generation: number, message = 'SavedState'): SchemaDump => ({
  format: 'hclckpt-schema/1', hypervisor: null,
  units: [{ name: 'dev', package: 'openvmm.dev', message, generation, schema: jsonSchema(schema) }],
});
const OLD = dumpOf(Type.Object(fields()), 3);
const next = (change: (f: Record<string, TSchema>) => void, options: object = {}) => {
  const f = fields();
  change(f);
  return dumpOf(Type.Object(f, options), 4);
};
const found = (d: SchemaDump) => {
  const r = checkSchemaCompat(OLD, d);
  return [...r.breaking, ...r.compatibleChanges].map((x) => `${x.path} ${x.kind} ${x.breaks.join('+') || 'ok'}`);
};

const CASES: Array<{ title: string; next: SchemaDump; want: string[] }> = [
  { title: 'a rename is harmless on the wire', next: next((f) => { f['total'] = f['count']!; delete f['count']; }), want: ['total field-renamed ok'] },
  { title: 'a field removed without reserving its number breaks', next: next((f) => { delete f['addr']; }), want: ['addr field-removed backward+forward'] },
  { title: 'a field removed with its number reserved is compatible', next: next((f) => { delete f['addr']; }, { reserved: [3] }), want: ['addr field-removed-reserved ok'] },
  { title: 'u32 → string on the same number is a retype', next: next((f) => { f['count'] = field(2, Type.String()); }), want: ['count field-retyped backward+forward'] },
  { title: 'u32 → i32 changes signedness (sint32): a retype', next: next((f) => { f['count'] = field(2, Type.Integer({ minimum: -(2 ** 31), maximum: 2 ** 31 - 1 })); }), want: ['count field-retyped backward+forward'] },
  { title: 'a new required enum is not allowed (no default)', next: next((f) => { f['speed'] = field(6, Type.Union([Type.Literal('slow'), Type.Literal('fast')])); }), want: ['speed field-added-not-optional backward+forward'] },
  { title: 'a new fixed-size array is not allowed unless optional', next: next((f) => { f['regs'] = field(6, Type.Array(uint(8), { minItems: 4, maxItems: 4 })); }), want: ['regs field-added-not-optional backward+forward'] },
  { title: 'a new optional enum is fine', next: next((f) => { f['speed'] = field(6, Type.Optional(Type.Union([Type.Literal('slow'), Type.Literal('fast')]))); }), want: ['speed field-added ok'] },
  { title: 'a new vec and a new number are fine (empty, 0)', next: next((f) => { f['extra'] = field(6, Type.Array(uint(8))); f['n'] = field(7, uint(32)); }), want: ['extra field-added ok', 'n field-added ok'] },
  { title: 'a new nested field inside an array element', next: next((f) => { f['items'] = field(4, Type.Array(Type.Object({ id: field(1, uint(16)), tail: field(2, uint(16)), head: field(3, uint(16)) }))); }), want: ['items[].head field-added ok'] },
  { title: 'an enum value appended is compatible, a renamed position too', next: next((f) => { f['mode'] = field(1, Type.Union([Type.Literal('off'), Type.Literal('enabled'), Type.Literal('auto')])); }), want: ['mode variant-renamed ok', 'mode enum-widened ok'] },
  { title: 'an enum value removed from the end narrows', next: next((f) => { f['mode'] = field(1, Type.Literal('off')); }), want: ['mode enum-narrowed backward'] },
  // Enum values are identified by number (mesh `#[mesh(N)]`; lib/state/fields.ts: enumOf, else the position).
  { title: 'a plain union reordered renumbers its values: both directions break', next: next((f) => { f['mode'] = field(1, Type.Union([Type.Literal('on'), Type.Literal('off')])); }), want: ['mode enum-renumbered backward+forward', 'mode enum-renumbered backward+forward', 'mode enum-number-reused backward+forward', 'mode enum-number-reused backward+forward'] },
  { title: 'enumOf with the positions as numbers, declared in another order: nothing changed', next: next((f) => { f['mode'] = field(1, enumOf({ on: 2, off: 1 })); }), want: [] },
  { title: 'an enumOf value given another number breaks', next: next((f) => { f['mode'] = field(1, enumOf({ off: 1, on: 3 })); }), want: ['mode enum-renumbered backward+forward'] },
  { title: 'a new value at a used number while the old value moved: renumbered and reused', next: next((f) => { f['mode'] = field(1, enumOf({ off: 1, on: 3, auto: 2 })); }), want: ['mode enum-renumbered backward+forward', 'mode enum-number-reused backward+forward'] },
  { title: 'a new value at a new number is compatible, wherever it is declared', next: next((f) => { f['mode'] = field(1, enumOf({ auto: 7, off: 1, on: 2 })); }), want: ['mode enum-widened ok'] },
  { title: 'a default cannot change with field numbers: none is reported', next: next((f) => { f['level'] = field(5, Type.Optional(uint(8, undefined))); (f['level'] as { default?: number }).default = 4; }), want: [] },
  { title: 'a renamed message breaks (the type URL is checked on restore)', next: dumpOf(Type.Object(fields()), 4, 'DevState'), want: ['(unit) message-renamed backward+forward'] },
];

for (const c of CASES) {
  test(`schema check, field numbers: ${c.title}`, () => assert.equal(found(c.next), c.want));
}

test('schema check, field numbers: an enum number reserved when its value was removed breaks both ways when it comes back', () => {
  const old = dumpOf(Type.Object({ ...fields(), mode: field(1, enumOf({ off: 1 }, { reserved: [2] })) }), 3);
  const back = dumpOf(Type.Object({ ...fields(), mode: field(1, enumOf({ off: 1, auto: 2 })) }), 4);
  const r = checkSchemaCompat(old, back);
  assert.equal(r.breaking.map((x) => `${x.path} ${x.kind} ${x.breaks.join('+')}: ${x.message}`), ['mode enum-number-reused backward+forward: enum number 2 was reserved: state written while it meant the removed value is misread as "auto"']);
  const removed = checkSchemaCompat(OLD, dumpOf(Type.Object({ ...fields(), mode: field(1, enumOf({ off: 1 }, { reserved: [2] })) }), 4));
  assert.equal(removed.breaking.map((x) => `${x.path} ${x.kind} ${x.breaks.join('+')}: ${x.message}`), ['mode enum-narrowed backward: enum lost "on" (value 2): old state holding it is refused']);
});

test('schema check, field numbers: reusing a reserved number breaks both ways', () => {
  const old = dumpOf(Type.Object((({ addr: _, ...rest }) => rest)(fields()), { reserved: [3] }), 3);
  const reused = dumpOf(Type.Object({ ...fields(), addr: field(3, Type.String()) }), 4);
  const r = checkSchemaCompat(old, reused);
  assert.equal(r.breaking.map((x) => `${x.path} ${x.kind}`), ['addr field-number-reused']);
  assert.ok(r.breaking[0]!.message.includes('field number 3 was reserved'), r.breaking[0]!.message);
});

test('schema check: a name-keyed generation followed by a numbered one needs a generation bump', () => {
  const named = dumpOf(Type.Object({ count: uint(32) }), 3);
  const same = checkSchemaCompat(named, dumpOf(Type.Object({ count: field(1, uint(32)) }), 3));
  assert.equal(same.breaking.map((x) => x.kind), ['wire-numbered']);
  const bumped = checkSchemaCompat(named, dumpOf(Type.Object({ count: field(1, uint(32)) }), 4));
  assert.equal([bumped.breaking.length, bumped.compatibleChanges.map((x) => x.kind)], [0, ['wire-numbered']]);
});

test.run();
