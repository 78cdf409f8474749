import { Kind, OptionalKind, Type, type SchemaOptions, type TLiteral, type TSchema, type TUnion } from '@sinclair/typebox';
import { HclError } from '../errors.ts';
import { decodeCanonical, encodeCanonicalWire } from './codec.ts';

/**
 * Field-numbered saved state, as OpenVMM's mesh protobuf encoding identifies fields (Guide,
 * dev_guide/contrib/save-state.md): every object property carries a stable number (`{ field: 3 }`
 * on its schema), a message is a msgpack map keyed by those integers in ascending order, a field
 * absent from the bytes takes its type's default, and a number the schema does not know is
 * ignored. Enum (literal union) values are written as their number: explicit, as mesh numbers
 * each variant (`#[mesh(N)]`), with `enumOf`; in a plain union of literals, the 1-based position.
 * An optional or nullable field that has no value is left out. Names never reach the bytes, so a
 * rename is harmless on the wire and a field or enum number must never be reused.
 */

/** `schema` with the stable field number `n` (≥ 1); the number, not the name, is what the bytes carry. */
export function field<T extends TSchema>(n: number, schema: T): T {
  if (!Number.isInteger(n) || n < 1) throw new TypeError(`field number ${n} is not a positive integer`);
  return { ...schema, field: n };
}

/**
 * An enum whose values carry explicit wire numbers, as mesh numbers enum variants:
 * `enumOf({ reset: 1, running: 2 })` is the TypeBox union of those literals, each with its
 * `enumNumber`, so reordering the declaration never changes the bytes. Numbers are distinct
 * positive integers; `options.reserved` lists numbers of removed values, never to be reused.
 */
export function enumOf<const T extends Record<string, number>>(numbers: T, options: SchemaOptions & { reserved?: number[] } = {}): TUnion<Array<TLiteral<Extract<keyof T, string>>>> {
  const entries = Object.entries(numbers);
  if (entries.length === 0) throw new TypeError('enumOf: an enum needs at least one value');
  const seen = new Map<number, string>();
  for (const [name, n] of entries) {
    if (!Number.isInteger(n) || n < 1) throw new TypeError(`enumOf: ${name}: number ${n} is not a positive integer`);
    const other = seen.get(n);
    if (other !== undefined) throw new TypeError(`enumOf: ${other} and ${name} share number ${n}`);
    if (options.reserved?.includes(n) === true) throw new TypeError(`enumOf: ${name}: number ${n} is reserved`);
    seen.set(n, name);
  }
  return Type.Union(entries.map(([name, n]) => Type.Literal(name as Extract<keyof T, string>, { enumNumber: n })), options);
}

/** A deep copy of `schema` without field numbers or reservations: the name-keyed form older generations were written in. */
export function nameKeyed<T extends TSchema>(schema: T): T {
  return strip(schema) as T;
}

function strip(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(strip);
  if (typeof v !== 'object' || v === null || v instanceof Uint8Array) return v;
  const src = v as Record<string | symbol, unknown>;
  const out: Record<string | symbol, unknown> = {};
  for (const k of Object.getOwnPropertySymbols(src)) out[k] = src[k];
  for (const k of Object.keys(src)) if (k !== 'field' && k !== 'reserved' && k !== 'enumNumber') out[k] = strip(src[k]);
  return out;
}

// A compiled walk of one schema: the encoder and decoder follow it instead of re-reading TypeBox nodes.
type Plan =
  | { k: 'object'; fields: Array<{ name: string; num: number; plan: Plan; optional: boolean }> }
  | { k: 'array'; item: Plan }
  | { k: 'enum'; values: unknown[]; numbers: number[] }
  | { k: 'nullable'; inner: Plan }
  | { k: 'scalar'; zero: () => unknown };

const plans = new WeakMap<TSchema, Plan>();

function planOf(schema: TSchema, where: string): Plan {
  let p = plans.get(schema);
  if (p === undefined) plans.set(schema, (p = build(schema, where)));
  return p;
}

const ZERO: Record<string, () => unknown> = {
  Integer: () => 0, Number: () => 0, BigInt: () => 0n, Boolean: () => false, String: () => '', Uint8Array: () => new Uint8Array(0),
};

function build(s: TSchema, where: string): Plan {
  const kind = s[Kind] as string;
  if (kind === 'Object') {
    const props = (s as unknown as { properties: Record<string, TSchema> }).properties;
    const seen = new Map<number, string>();
    const fields = Object.entries(props).map(([name, ps]) => {
      const num = (ps as { field?: unknown }).field;
      if (typeof num !== 'number') throw new TypeError(`${where}.${name}: no field number`);
      const other = seen.get(num);
      if (other !== undefined) throw new TypeError(`${where}: fields ${other} and ${name} share number ${num}`);
      seen.set(num, name);
      return { name, num, plan: planOf(ps, `${where}.${name}`), optional: ps[OptionalKind] === 'Optional' };
    });
    return { k: 'object', fields: fields.sort((a, b) => a.num - b.num) };
  }
  if (kind === 'Array') return { k: 'array', item: planOf((s as unknown as { items: TSchema }).items, `${where}[]`) };
  if (kind === 'Literal') return enumPlan([s], where);
  if (kind === 'Union') {
    const members = (s as unknown as { anyOf: TSchema[] }).anyOf;
    if (members.every((m) => m[Kind] === 'Literal')) return enumPlan(members, where);
    const rest = members.filter((m) => m[Kind] !== 'Null');
    if (members.length === 2 && rest.length === 1) return { k: 'nullable', inner: planOf(rest[0]!, where) };
  }
  const zero = ZERO[kind];
  if (zero === undefined) throw new TypeError(`${where}: a ${kind} schema has no field-numbered encoding`);
  return { k: 'scalar', zero };
}

/** The wire numbers of an enum's literals: each one's `enumNumber` (enumOf), or else its 1-based position. */
export function enumNumbers(members: readonly unknown[]): number[] {
  return members.map((m, i) => {
    const n = (m as { enumNumber?: unknown }).enumNumber;
    return typeof n === 'number' ? n : i + 1;
  });
}

function enumPlan(members: TSchema[], where: string): Plan {
  const numbers = enumNumbers(members);
  const explicit = members.filter((m) => (m as { enumNumber?: unknown }).enumNumber !== undefined).length;
  if (explicit !== 0 && explicit !== members.length) throw new TypeError(`${where}: an enum numbers all its values or none`);
  if (new Set(numbers).size !== numbers.length) throw new TypeError(`${where}: enum values share a number`);
  return { k: 'enum', values: members.map((m) => (m as unknown as { const: unknown }).const), numbers };
}

function toWire(p: Plan, v: unknown, where: string): unknown {
  switch (p.k) {
    case 'object': {
      const m = new Map<number, unknown>();
      const o = v as Record<string, unknown>;
      for (const f of p.fields) {
        const x = o[f.name];
        if (x === undefined || (x === null && f.plan.k === 'nullable')) continue;
        m.set(f.num, toWire(f.plan, x, `${where}.${f.name}`));
      }
      return m;
    }
    case 'array':
      return (v as unknown[]).map((x, i) => toWire(p.item, x, `${where}[${i}]`));
    case 'enum': {
      const i = p.values.indexOf(v);
      if (i < 0) throw new TypeError(`${where}: ${JSON.stringify(v)} is not a value of its enum`);
      return p.numbers[i];
    }
    case 'nullable':
      return v === null ? null : toWire(p.inner, v, where);
    case 'scalar':
      return Object.is(v, -0) ? 0 : v;
  }
}

const FIELD_KEY = /^[1-9][0-9]{0,9}$/;

function fail(context: string, where: string, what: string): never {
  throw new HclError('STATE_DECODE', `${context}: ${where}: ${what}`);
}

function defaultOf(p: Plan, context: string, where: string): unknown {
  switch (p.k) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const f of p.fields) if (!f.optional) out[f.name] = defaultOf(f.plan, context, `${where}.${f.name}`);
      return out;
    }
    case 'array':
      return [];
    case 'nullable':
      return null;
    case 'scalar':
      return p.zero();
    case 'enum':
      // The save-state rules: an enum has no default, so one must be optional to be added later.
      return fail(context, where, 'enum field missing (an enum has no default)');
  }
}

function fromWire(p: Plan, raw: unknown, context: string, where: string): unknown {
  switch (p.k) {
    case 'object': {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || raw instanceof Uint8Array) return fail(context, where, 'expected a message (a map of field numbers)');
      const o = raw as Record<string, unknown>;
      // An unknown number is ignored, but a key that is no field number at all is not this wire form.
      for (const k of Object.keys(o)) if (!FIELD_KEY.test(k)) fail(context, where, `key ${JSON.stringify(k)} is not a field number`);
      const out: Record<string, unknown> = {};
      for (const f of p.fields) {
        const x = o[String(f.num)];
        const at = `${where}.${f.name}`;
        if (x === undefined) {
          if (!f.optional) out[f.name] = defaultOf(f.plan, context, at);
        } else out[f.name] = fromWire(f.plan, x, context, at);
      }
      return out;
    }
    case 'array':
      if (!Array.isArray(raw)) return fail(context, where, 'expected a repeated field (an array)');
      return raw.map((x, i) => fromWire(p.item, x, context, `${where}[${i}]`));
    case 'enum': {
      const i = typeof raw === 'number' ? p.numbers.indexOf(raw) : -1;
      return i < 0 ? fail(context, where, `enum value ${String(raw)} unknown (have ${p.numbers.join(', ')})`) : p.values[i];
    }
    case 'nullable':
      return raw === null ? null : fromWire(p.inner, raw, context, where);
    case 'scalar':
      return raw;
  }
}

/** Throws TypeError unless every object property in `schema` has a distinct field number and every type has an encoding. */
export function checkFieldNumbers(schema: TSchema, where: string): void {
  planOf(schema, where);
}

/** Encodes `value` (valid for `schema`) as a field-numbered message: canonical msgpack, one byte string per value. */
export function encodeFields(schema: TSchema, value: unknown): Uint8Array {
  return encodeCanonicalWire(toWire(planOf(schema, '$'), value, '$'));
}

/**
 * Decodes a field-numbered message into a value named by `schema`: missing fields take their
 * default, unknown numbers are ignored. Bad bytes are STATE_DECODE starting with `context`;
 * the caller validates the result against the schema.
 */
export function decodeFields(schema: TSchema, bytes: Uint8Array, context: string): unknown {
  return fromWire(planOf(schema, '$'), decodeCanonical(bytes, context), context, '$');
}
