import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Type, type TSchema } from '@sinclair/typebox';
import { checkSchemaCompat, parseSchemaDump, type SchemaChangeKind, type SchemaReport } from '../../lib/diff/index.ts';
import { isHclError } from '../../lib/errors.ts';
import { jsonSchema, type SchemaDump } from '../../lib/state/registry.ts';
import { bytes, u64, uint } from '../../lib/state/unit.ts';

// A small device schema with one field of every shape the dump has: enum, u32, u64, bytes,
// string, optional with a default, array of objects with a nullable member.
const fields = () => ({
  mode: Type.Union([Type.Literal('off'), Type.Literal('on')]),
  count: uint(16),
  addr: u64(),
  buf: bytes(16),
  label: Type.String({ minLength: 1 }),
  level: Type.Optional(uint(8, 'trigger level')),
  queues: Type.Array(Type.Object({ id: uint(16), admin: Type.Union([Type.Object({ tail: uint(16) }), Type.Null()]) })),
});
const BASE = Type.Object(fields());
const HV = Type.Union([
  Type.Object({ arch: Type.Literal('x86_64'), rip: u64() }),
  Type.Object({ arch: Type.Literal('aarch64'), pc: u64() }),
]);

interface U { name: string; package?: string; generation?: number; schema: TSchema }
function dump(units: U[], hv: TSchema = HV, hvGeneration = 1): SchemaDump {
  const entry = (u: U) => ({ name: u.name, package: u.package ?? `openvmm.${u.name}`, generation: u.generation ?? 1, schema: jsonSchema(u.schema) });
  return { format: 'hclckpt-schema/1', units: units.map(entry), hypervisor: entry({ name: 'hv', generation: hvGeneration, schema: hv }) };
}
const OLD = dump([{ name: 'dev', schema: BASE }, { name: 'aux', schema: Type.Object({ x: uint(8) }) }]);
/** The old dump with `dev` replaced by `schema` at generation 2. */
const evolved = (schema: TSchema, extra: Partial<U> = {}) => dump([{ name: 'dev', generation: 2, schema, ...extra }, { name: 'aux', schema: Type.Object({ x: uint(8) }) }]);
const withFields = (change: (f: Record<string, TSchema>) => void) => {
  const f: Record<string, TSchema> = fields();
  change(f);
  return evolved(Type.Object(f));
};

interface Case { title: string; next: SchemaDump; kind: SchemaChangeKind; path: string; unit?: string; breaks: string[]; why: string }
const BREAKING: Case[] = [
  { title: 'removed unit', next: dump([{ name: 'dev', schema: BASE }]), kind: 'unit-removed', unit: 'aux', path: '(unit)', breaks: ['backward'], why: 'refuses an unknown unit' },
  { title: 'renamed package', next: evolved(BASE, { package: 'openvmm.device' }), kind: 'package-renamed', path: '(unit)', breaks: ['backward', 'forward'], why: 'openvmm.dev → openvmm.device' },
  { title: 'removed required field', next: withFields((f) => delete f['count']), kind: 'field-removed', path: 'count', breaks: ['forward'], why: 'required field removed' },
  { title: 'removed optional field', next: withFields((f) => delete f['level']), kind: 'field-removed', path: 'level', breaks: ['forward'], why: 'reads its default' },
  { title: 'retyped field (u16 → string)', next: withFields((f) => { f['count'] = Type.String(); }), kind: 'field-retyped', path: 'count', breaks: ['backward', 'forward'], why: 'type integer → string' },
  { title: 'retyped field (u64 → u32)', next: withFields((f) => { f['addr'] = uint(32); }), kind: 'field-retyped', path: 'addr', breaks: ['backward', 'forward'], why: 'type u64 → integer' },
  { title: 'retyped nested field', next: withFields((f) => { f['queues'] = Type.Array(Type.Object({ id: uint(16), admin: Type.Union([Type.Object({ tail: u64() }), Type.Null()]) })); }), kind: 'field-retyped', path: 'queues[].admin.tail', breaks: ['backward', 'forward'], why: 'integer → u64' },
  { title: 'new required field', next: withFields((f) => { f['irq'] = uint(8); }), kind: 'field-added-required', path: 'irq', breaks: ['backward'], why: 'lacks it' },
  { title: 'new optional field without a default', next: withFields((f) => { f['irq'] = Type.Optional(uint(8)); }), kind: 'field-added-no-default', path: 'irq', breaks: ['backward'], why: 'without a documented default' },
  { title: 'optional field became required', next: withFields((f) => { f['level'] = uint(8); }), kind: 'field-became-required', path: 'level', breaks: ['backward'], why: 'omits it' },
  { title: 'required field became optional', next: withFields((f) => { f['count'] = Type.Optional(uint(16)); }), kind: 'field-became-optional', path: 'count', breaks: ['forward'], why: 'may omit it' },
  { title: 'narrowed enum', next: withFields((f) => { f['mode'] = Type.Union([Type.Literal('on')]); }), kind: 'enum-narrowed', path: 'mode', breaks: ['backward'], why: 'enum lost "off"' },
  { title: 'narrowed enum to a single const', next: withFields((f) => { f['mode'] = Type.Literal('off'); }), kind: 'enum-narrowed', path: 'mode', breaks: ['backward'], why: 'enum lost "on"' },
  { title: 'narrowed integer bound', next: withFields((f) => { f['count'] = uint(8); }), kind: 'bounds-narrowed', path: 'count', breaks: ['backward'], why: 'maximum 65535 → 255' },
  { title: 'narrowed u64 bound', next: withFields((f) => { f['addr'] = Type.BigInt({ minimum: 0n, maximum: 0xffff_ffffn }); }), kind: 'bounds-narrowed', path: 'addr', breaks: ['backward'], why: 'maximum "18446744073709551615" → "4294967295"' },
  { title: 'narrowed byte length', next: withFields((f) => { f['buf'] = bytes(8); }), kind: 'bounds-narrowed', path: 'buf', breaks: ['backward'], why: 'maxByteLength 16 → 8' },
  { title: 'new lower bound on a string', next: withFields((f) => { f['label'] = Type.String({ minLength: 4 }); }), kind: 'bounds-narrowed', path: 'label', breaks: ['backward'], why: 'minLength 1 → 4' },
  { title: 'changed default', next: withFields((f) => { f['level'] = Type.Optional(uint(8, 'trigger level')); (f['level'] as { default?: number }).default = 4; }), kind: 'default-changed', path: 'level', breaks: ['backward', 'forward'], why: 'default undefined → 4' },
  { title: 'removed union variant', next: dump([{ name: 'dev', schema: BASE }, { name: 'aux', schema: Type.Object({ x: uint(8) }) }], Type.Union([Type.Object({ arch: Type.Literal('x86_64'), rip: u64() })]), 2), kind: 'variant-removed', unit: 'hv', path: '(arch="aarch64")', breaks: ['backward'], why: 'variant arch="aarch64" removed' },
  { title: 'field change inside a union variant', next: dump([{ name: 'dev', schema: BASE }, { name: 'aux', schema: Type.Object({ x: uint(8) }) }], Type.Union([Type.Object({ arch: Type.Literal('x86_64'), rip: uint(32) }), Type.Object({ arch: Type.Literal('aarch64'), pc: u64() })]), 2), kind: 'field-retyped', unit: 'hv', path: '(arch="x86_64").rip', breaks: ['backward', 'forward'], why: 'u64 → integer' },
  { title: 'schema changed without a generation bump', next: dump([{ name: 'dev', schema: Type.Object({ ...fields(), irq: Type.Optional(Type.Integer({ minimum: 0, maximum: 255, default: 0 })) }) }, { name: 'aux', schema: Type.Object({ x: uint(8) }) }]), kind: 'generation-not-bumped', path: '(unit)', breaks: ['backward', 'forward'], why: 'generation stays 1' },
  { title: 'generation went down', next: dump([{ name: 'dev', schema: BASE }, { name: 'aux', schema: Type.Object({ x: uint(8) }) }]), kind: 'generation-decreased', unit: 'aux', path: '(unit)', breaks: ['backward', 'forward'], why: 'generation went down 3 → 1' },
];
// The decreased-generation case compares against an old dump where `aux` is at generation 3.
const OLD_FOR = (c: Case): SchemaDump => (c.kind === 'generation-decreased' ? dump([{ name: 'dev', schema: BASE }, { name: 'aux', generation: 3, schema: Type.Object({ x: uint(8) }) }]) : OLD);

const finding = (r: SchemaReport, c: Case) => r.breaking.find((f) => f.kind === c.kind && f.unit === (c.unit ?? 'dev') && f.path === c.path);

for (const c of BREAKING) {
  test(`breaking: ${c.title}`, () => {
    const r = checkSchemaCompat(OLD_FOR(c), c.next);
    assert.is(r.compatible, false);
    const f = finding(r, c);
    assert.ok(f !== undefined, `no ${c.kind} at ${c.unit ?? 'dev'} ${c.path} in ${JSON.stringify(r.breaking.map((x) => [x.unit, x.path, x.kind]))}`);
    assert.equal(f.breaks, c.breaks);
    assert.ok(f.message.includes(c.why), `message ${JSON.stringify(f.message)} lacks ${JSON.stringify(c.why)}`);
    // Each crafted pair makes one breaking change (the generation is bumped where the schema changed).
    assert.is(r.breaking.length, 1, JSON.stringify(r.breaking.map((x) => x.kind)));
  });
}

const COMPATIBLE: Array<{ title: string; next: SchemaDump; kinds: SchemaChangeKind[] }> = [
  { title: 'new unit', next: dump([{ name: 'dev', schema: BASE }, { name: 'aux', schema: Type.Object({ x: uint(8) }) }, { name: 'rng', schema: Type.Object({ seed: u64() }) }]), kinds: ['unit-added'] },
  { title: 'new optional field with a documented default', next: withFields((f) => { f['irq'] = Type.Optional(Type.Integer({ minimum: 0, maximum: 255, default: 0 })); }), kinds: ['field-added-optional'] },
  { title: 'widened enum', next: withFields((f) => { f['mode'] = Type.Union([Type.Literal('off'), Type.Literal('on'), Type.Literal('auto')]); }), kinds: ['enum-widened'] },
  { title: 'widened integer bound', next: withFields((f) => { f['count'] = uint(32); }), kinds: ['bounds-widened'] },
  { title: 'dropped byte length bound', next: withFields((f) => { f['buf'] = bytes(); }), kinds: ['bounds-widened'] },
  { title: 'new union variant', next: dump([{ name: 'dev', schema: BASE }, { name: 'aux', schema: Type.Object({ x: uint(8) }) }], Type.Union([...HV.anyOf, Type.Object({ arch: Type.Literal('riscv64'), pc: u64() })]), 2), kinds: ['variant-added'] },
  { title: 'description-only change', next: dump([{ name: 'dev', schema: Type.Object({ ...fields(), count: uint(16, 'now documented') }) }, { name: 'aux', schema: Type.Object({ x: uint(8) }) }]), kinds: [] },
  { title: 'identical dumps', next: OLD, kinds: [] },
];

for (const c of COMPATIBLE) {
  test(`compatible: ${c.title}`, () => {
    const r = checkSchemaCompat(OLD, c.next);
    assert.equal(r.breaking, []);
    assert.is(r.compatible, true);
    assert.equal(r.compatibleChanges.map((f) => f.kind), c.kinds);
    for (const f of r.compatibleChanges) assert.equal(f.breaks, []);
  });
}

test('several breaks are all reported, sorted by unit and path', () => {
  const next = withFields((f) => { delete f['count']; f['addr'] = uint(32); f['irq'] = uint(8); });
  const r = checkSchemaCompat(OLD, next);
  assert.equal(r.breaking.map((f) => `${f.path}:${f.kind}`), ['addr:field-retyped', 'count:field-removed', 'irq:field-added-required']);
});

const BAD_DUMPS: Array<[string, string, string]> = [
  ['not json', '{', 'x.json: not json'],
  ['wrong format', JSON.stringify({ format: 'other', units: [] }), 'format "other" is not "hclckpt-schema/1"'],
  ['units not an array', JSON.stringify({ format: 'hclckpt-schema/1', units: 3 }), 'units: expected an array'],
  ['unit without package', JSON.stringify({ format: 'hclckpt-schema/1', units: [{ name: 'a', generation: 1, schema: {} }] }), 'units[0].package'],
  ['generation 0', JSON.stringify({ format: 'hclckpt-schema/1', units: [{ name: 'a', package: 'p', generation: 0, schema: {} }] }), 'units[0].generation'],
  ['retired not an array', JSON.stringify({ format: 'hclckpt-schema/1', units: [], retired: {} }), 'retired: expected an array'],
  ['retired without its step', JSON.stringify({ format: 'hclckpt-schema/1', units: [], retired: [{ name: 'vp', package: 'openvmm.vp', generation: 3, into: ['partition'], why: 'merged' }] }), 'retired[0].retiredIn'],
  ['retired into no list', JSON.stringify({ format: 'hclckpt-schema/1', units: [], retired: [{ name: 'vp', package: 'openvmm.vp', generation: 3, retiredIn: 4, into: 'partition', why: 'merged' }] }), 'retired[0].into'],
  ['duplicate unit', JSON.stringify({ format: 'hclckpt-schema/1', units: [{ name: 'a', package: 'p', generation: 1, schema: {} }, { name: 'a', package: 'p', generation: 1, schema: {} }] }), 'unit a appears twice'],
];
for (const [title, text, msg] of BAD_DUMPS) {
  test(`parseSchemaDump refuses ${title}`, () => {
    try {
      parseSchemaDump(text, 'x.json');
      assert.unreachable('accepted');
    } catch (e) {
      assert.ok(isHclError(e, 'JSON_INVALID'), String(e));
      assert.ok((e as Error).message.startsWith('x.json: '));
      assert.ok((e as Error).message.includes(msg), (e as Error).message);
    }
  });
}

test('parseSchemaDump round-trips a real dump, its retired units too', () => {
  assert.equal(parseSchemaDump(JSON.stringify(OLD), 'x'), OLD);
  const retired = { ...OLD, retired: [{ name: 'vp', package: 'openvmm.vp', generation: 3, retiredIn: 4, into: ['partition'], why: 'merged' }] };
  assert.equal(parseSchemaDump(JSON.stringify(retired), 'x'), retired);
});

// An upgrader covers a field-level break only across a generation bump: with the generation
// unchanged, one generation number would name both shapes, so the field change stays breaking
// even though the new release lists an upgrader from that generation.
test('a field change is not "covered by an upgrader" when the generation did not change', () => {
  const next = dump([{ name: 'dev', generation: 1, schema: Type.Object({ ...fields(), irq: uint(8) }) }, { name: 'aux', schema: Type.Object({ x: uint(8) }) }]);
  for (const u of next.units) Object.assign(u, { reads: [1], writes: [1] });
  const r = checkSchemaCompat(OLD, next);
  assert.is(r.compatible, false);
  const field = r.breaking.find((f) => f.path === 'irq');
  assert.equal(field && { kind: field.kind, breaks: field.breaks }, { kind: 'field-added-required', breaks: ['backward'] });
  assert.not.match(field?.message ?? '', 'handled');
  assert.ok(r.breaking.some((f) => f.unit === 'dev' && f.kind === 'generation-not-bumped'));
  // The same change with the bump is covered by the upgrader.
  const bumped = dump([{ name: 'dev', generation: 2, schema: Type.Object({ ...fields(), irq: uint(8) }) }, { name: 'aux', schema: Type.Object({ x: uint(8) }) }]);
  for (const u of bumped.units) Object.assign(u, { reads: [1, 2], writes: [1, 2] });
  assert.not.ok(checkSchemaCompat(OLD, bumped).breaking.some((f) => f.path === 'irq'), 'covered across a bump');
});

test.run();
