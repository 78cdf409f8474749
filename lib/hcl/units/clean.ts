import { Kind, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

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

/** `Value.Clean(schema, value)`: drops fields `schema` does not know, mutating `value`. */
export function cleanState(schema: TSchema, value: unknown): unknown {
  let p = plans.get(schema);
  if (p === undefined) plans.set(schema, (p = plan(schema)));
  return Value.Clean(p, value);
}
