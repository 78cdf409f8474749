import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Type, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { mulberry32, runWorkload } from '../../../harness/workload.ts';
import { cleanCopy, cleanState } from '../../../lib/state/clean.ts';
import { UNIT_DESCRIPTORS, createUnits } from '../../../lib/hcl/units/index.ts';
import { HvPartition } from '../../../lib/hv/index.ts';
import { HvStateSchema } from '../../../lib/hv/partition.ts';
import { testContext } from './fixture.ts';

/** `cleanState` must give exactly what `Value.Clean` gives, for every unit schema and any junk. */

// Adds unknown fields at random objects of `v` (a copy), so both cleaners have something to drop.
function withJunk(v: unknown, rand: () => number): unknown {
  if (Array.isArray(v)) return v.map((x) => withJunk(x, rand));
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = withJunk(x, rand);
  if (rand() < 0.5) out[`junk${Math.floor(rand() * 1000)}`] = { nested: rand() < 0.5 ? 'x' : [1, 2] };
  return out;
}

const same = (schema: TSchema, value: unknown, what: string): void => {
  const want = Value.Clean(schema, structuredClone(value));
  assert.equal(cleanState(schema, structuredClone(value)), want, what);
  // cleanCopy gives the same without touching its input (same keys in the same order, too).
  const before = structuredClone(value);
  const got = cleanCopy(schema, value);
  assert.equal(got, want, `${what} (cleanCopy)`);
  assert.is(JSON.stringify(got, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x)), JSON.stringify(want, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x)), `${what} (cleanCopy key order)`);
  assert.equal(value, before, `${what} (cleanCopy left its input alone)`);
};

test('every unit: cleaning saved states with unknown fields matches Value.Clean', () => {
  const ctx = testContext(6);
  const units = createUnits(ctx);
  runWorkload(units, new HvPartition(ctx.topology), { seed: 5, steps: 3000 });
  const rand = mulberry32(9);
  for (const u of units.all) {
    const descriptor = UNIT_DESCRIPTORS.find((d) => d.name === u.name);
    assert.ok(descriptor !== undefined, u.name);
    for (const g of descriptor.generations) {
      for (let i = 0; i < 5; i++) same(g.schema, withJunk(u.save(), rand), `${u.name} generation ${g.generation} case ${i}`);
    }
  }
});

test('hv state: cleaning by each variant and by the union matches Value.Clean', () => {
  const ctx = testContext(4);
  const hv = new HvPartition(ctx.topology);
  runWorkload(createUnits(ctx), hv, { seed: 3, steps: 500 });
  const rand = mulberry32(4);
  for (const schema of [...HvStateSchema.anyOf, HvStateSchema]) {
    for (let i = 0; i < 3; i++) same(schema, withJunk(hv.save(), rand), `hv ${schema.anyOf === undefined ? 'variant' : 'union'} case ${i}`);
  }
});

test('unions: scalar ones pass through, object ones still choose their variant and drop fields', () => {
  const schema = Type.Object({
    role: Type.Union([Type.Literal('a'), Type.Literal('b')]),
    shape: Type.Union([Type.Object({ kind: Type.Literal('c'), r: Type.Number() }), Type.Object({ kind: Type.Literal('s'), w: Type.Number() })]),
    list: Type.Array(Type.Object({ x: Type.Integer() })),
    tuple: Type.Tuple([Type.Object({ t: Type.Integer() })]),
  });
  const cases: unknown[] = [
    { role: 'a', shape: { kind: 'c', r: 1, extra: 1 }, list: [{ x: 1, y: 2 }], tuple: [{ t: 1, u: 2 }, 5], junk: true },
    { role: 'zzz', shape: { kind: 's', w: 2, r: 3 }, list: [], tuple: [] },
    { role: 7, shape: 'not an object', list: 'nope', tuple: null },
    // Names Object.prototype has are `in` every schema's properties, so Clean keeps them.
    { role: 'b', shape: { kind: 'c', r: 1 }, list: [{ x: 1, constructor: 5, toString: [1] }], tuple: [], hasOwnProperty: 'x' },
  ];
  cases.forEach((c, i) => same(schema, c, `case ${i}`));
  const cleaned = cleanState(schema, structuredClone(cases[0])) as Record<string, unknown>;
  assert.equal(cleaned['list'], [{ x: 1 }], 'unknown fields are really dropped');
});

test('objects with an additionalProperties schema keep the extra fields that schema accepts', () => {
  const schema = Type.Object({ a: Type.Integer(), m: Type.Object({}, { additionalProperties: Type.Object({ v: Type.Integer() }) }) });
  const cases: unknown[] = [
    { a: 1, m: { p: { v: 1, w: 2 }, q: 'dropped', r: { v: 3 } }, z: 1 },
    { a: 1, m: {} },
  ];
  cases.forEach((c, i) => same(schema, c, `case ${i}`));
});

test.run();
