import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { HclError } from '../errors.ts';
import { VmConfigSchema, type VmConfig } from './schema.ts';
import { semanticErrors, type ConfigFieldError } from './rules.ts';

/** A TypeBox JSON pointer (`/vps/3/vnode`) as a readable path (`vps[3].vnode`). */
export function pointerToPath(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(part) ? `[${part}]` : out === '' ? part : `.${part}`;
  }
  return out === '' ? '(root)' : out;
}

// Compiled on first use: a valid config (every restore validates one) then costs one check, not
// TypeBox's error walk over every VP and range; the walk runs only to describe a bad config.
let shapeCheck: TypeCheck<typeof VmConfigSchema> | undefined;

/** Shape errors from the schema, one per path (a union reports every alternative; the first is enough). */
function shapeErrors(json: unknown): ConfigFieldError[] {
  if ((shapeCheck ??= TypeCompiler.Compile(VmConfigSchema)).Check(json)) return [];
  const seen = new Set<string>();
  const out: ConfigFieldError[] = [];
  for (const e of Value.Errors(VmConfigSchema, json)) {
    const path = pointerToPath(e.path);
    if (seen.has(path)) continue;
    seen.add(path);
    out.push({ path, message: literalChoices(e.schema, e.value) ?? e.message.charAt(0).toLowerCase() + e.message.slice(1) });
  }
  return out;
}

/** For a union of literals (`sidecar`, `isolation`): the allowed values, instead of TypeBox's "expected union value". */
function literalChoices(schema: unknown, value: unknown): string | undefined {
  const anyOf = (schema as { anyOf?: unknown }).anyOf;
  if (!Array.isArray(anyOf) || !anyOf.every((s) => typeof s === 'object' && s !== null && 'const' in s)) return undefined;
  return `expected one of ${anyOf.map((s: { const: unknown }) => JSON.stringify(s.const)).join(', ')}, got ${JSON.stringify(value) ?? 'nothing'}`;
}

/** Every problem with `json` as a VmConfig: shape first; semantic rules only once the shape holds. */
export function configErrors(json: unknown): ConfigFieldError[] {
  const shape = shapeErrors(json);
  return shape.length > 0 ? shape : semanticErrors(json as VmConfig);
}

/**
 * Checks `json` against the VmConfig schema and every semantic rule (see rules.ts) and returns
 * it typed. Fails with one CONFIG_INVALID that lists every bad field with its path;
 * `context.errors` holds the list. `where` names the source (a file name) in the message.
 */
export function validateConfig(json: unknown, where = 'config'): VmConfig {
  const errors = configErrors(json);
  if (errors.length === 0) return json as VmConfig;
  const list = errors.map((e) => `${e.path}: ${e.message}`).join('; ');
  const n = errors.length === 1 ? '1 invalid field' : `${errors.length} invalid fields`;
  throw new HclError('CONFIG_INVALID', `${where}: ${n}: ${list}`, { context: { errors } });
}
