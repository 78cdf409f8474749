import { Kind, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { copyState } from './copy.ts';

/**
 * Dropping unknown fields from a restored unit state (TypeBox `Value.Clean`), with the cost of
 * per-VP unions taken out: for a union of scalar variants (`role: 'linux' | 'sidecar'`) Clean
 * checks the value against every variant and then returns it unchanged, which on a 2048-VP
 * state was most of a restore. The schema Clean walks here is the unit's schema with each such
 * union replaced by a schema Clean passes through, so the result is exactly `Value.Clean`'s.
 */

// Kinds Clean descends into (clean.mjs Visit); every other kind is returned as is.
const STRUCTURED = new Set(['Array', 'Import', 'Intersect', 'Object', 'Record', 'Ref', 'This', 'Tuple', 'Union']);
const PASS_THROUGH: TSchema = { [Kind]: 'Unknown' } as TSchema;

const plans = new WeakMap<TSchema, TSchema>();

const kindOf = (s: TSchema): string | undefined => s[Kind];

// Only Object, Array and scalar unions are rewritten; anything that resolves references ($id,
// Ref, Import, This) or runs Check on its own subschemas keeps the original subtree.
function plan(s: TSchema): TSchema {
  if (typeof s['$id'] === 'string') return s;
  switch (kindOf(s)) {
    case 'Union': {
      const variants = (s['anyOf'] ?? []) as TSchema[];
      return variants.every((v) => !STRUCTURED.has(kindOf(v) ?? '')) ? PASS_THROUGH : s;
    }
    case 'Array':
      return { ...s, items: plan(s['items'] as TSchema) } as TSchema;
    case 'Object': {
      const props = s['properties'] as Record<string, TSchema>;
      const planned: Record<string, TSchema> = {};
      for (const key of Object.getOwnPropertyNames(props)) planned[key] = plan(props[key]!);
      return { ...s, properties: planned } as TSchema;
    }
    default:
      return s;
  }
}

function planOf(schema: TSchema): TSchema {
  let p = plans.get(schema);
  if (p === undefined) plans.set(schema, (p = plan(schema)));
  return p;
}

/** `Value.Clean(schema, value)`: drops fields `schema` does not know, mutating `value`. */
export function cleanState(schema: TSchema, value: unknown): unknown {
  return Value.Clean(planOf(schema), value);
}

/**
 * `cleanState(schema, copyState(value))` in one walk: a deep copy of `value` without the fields
 * `schema` does not know; `value` is not changed. A restore copies and cleans every unit, and
 * doing both at once spares a second pass over a 2048-VP state.
 */
export function cleanCopy(schema: TSchema, value: unknown): unknown {
  return cleanerOf(planOf(schema))(value);
}

type Cleaner = (v: unknown) => unknown;

const isPlain = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

// One cleaner per (planned) schema node, built once, so the walk does not re-read the schema at
// every value. They mirror Clean's Visit for Object (without an additionalProperties schema) and
// Array on plain values; every other case is Value.Clean on a copy, so the result is Clean's.
const cleaners = new WeakMap<TSchema, Cleaner>();

function cleanerOf(s: TSchema): Cleaner {
  let c = cleaners.get(s);
  if (c === undefined) cleaners.set(s, (c = buildCleaner(s)));
  return c;
}

function buildCleaner(s: TSchema): Cleaner {
  const kind = kindOf(s) ?? '';
  const byClean: Cleaner = (v) => Value.Clean(s, copyState(v));
  if (typeof s['$id'] === 'string') return byClean;
  if (kind === 'Array') {
    const items = s['items'] as TSchema;
    return (v) => {
      if (!Array.isArray(v)) return byClean(v);
      const item = cleanerOf(items);
      const out: unknown[] = [];
      for (let i = 0; i < v.length; i++) out.push(item(v[i]));
      return out;
    };
  }
  if (kind === 'Object' && typeof s['additionalProperties'] !== 'object') {
    const props = s['properties'] as Record<string, TSchema>;
    let own: Map<string, Cleaner> | undefined; // built on first use: the schema is a tree, built top down
    return (v) => {
      own ??= new Map(Object.keys(props).map((k) => [k, cleanerOf(props[k]!)]));
      if (!isPlain(v)) return byClean(v);
      if (Object.hasOwn(v, '__proto__')) return byClean(v);
      const out: Record<string, unknown> = {};
      for (const k of Object.getOwnPropertyNames(v)) {
        const c = own.get(k);
        if (c !== undefined) out[k] = c(v[k]);
        // Clean keeps a key `in` the properties (inherited names too) and visits what it finds there.
        else if (k in props) out[k] = copyState(v[k]);
      }
      return out;
    };
  }
  return STRUCTURED.has(kind) ? byClean : copyState;
}
