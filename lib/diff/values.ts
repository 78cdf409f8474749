import type { Change } from './types.ts';

/**
 * Structural diff of canonical values (null, boolean, number, string, bigint, Uint8Array, arrays,
 * plain objects): arrays compare by index, objects by sorted key, byte buffers by changed ranges.
 */

/** Equal bytes shorter than this between two changed runs are folded into one range, so noise stays readable. */
export const BYTE_RANGE_GAP = 8;

type Shape = 'missing' | 'null' | 'boolean' | 'number' | 'string' | 'bigint' | 'bytes' | 'array' | 'object' | 'other';

function shapeOf(v: unknown): Shape {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (v instanceof Uint8Array) return 'bytes';
  if (Array.isArray(v)) return 'array';
  switch (typeof v) {
    case 'boolean':
    case 'number':
    case 'string':
    case 'bigint':
      return typeof v as Shape;
    case 'object':
      return 'object';
    default:
      return 'other';
  }
}

const IDENT = /^[A-Za-z_$][\w$]*$/;

/** Appends an object key to a field path: `a.b`, or `a["odd key"]` when the key is not an identifier. */
export function joinKey(path: string, key: string): string {
  if (!IDENT.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path === '' ? key : `${path}.${key}`;
}

/** Appends an array index to a field path: `a[3]`. */
export function joinIndex(path: string, index: number): string {
  return `${path}[${index}]`;
}

/** Half-open ranges `[start, end)` where `a` and `b` differ, including the tail one of them lacks. */
export function byteRanges(a: Uint8Array, b: Uint8Array, gap = BYTE_RANGE_GAP): Array<{ start: number; end: number }> {
  const out: Array<{ start: number; end: number }> = [];
  const common = Math.min(a.length, b.length);
  let i = 0;
  while (i < common) {
    if (a[i] === b[i]) { i++; continue; }
    let end = i + 1;
    // Extend while the next difference follows fewer than `gap` equal bytes (or none).
    for (let j = end; j < common && j < end + Math.max(gap, 1); j++) if (a[j] !== b[j]) end = j + 1;
    out.push({ start: i, end });
    i = end;
  }
  return out;
}

function diffBytes(a: Uint8Array, b: Uint8Array, path: string, out: Change[]): void {
  for (const r of byteRanges(a, b)) out.push({ path, kind: 'changed', from: a.slice(r.start, r.end), to: b.slice(r.start, r.end), range: r });
  if (b.length > a.length) out.push({ path, kind: 'added', to: b.slice(a.length), range: { start: a.length, end: b.length } });
  if (a.length > b.length) out.push({ path, kind: 'removed', from: a.slice(b.length), range: { start: b.length, end: a.length } });
}

/** Every difference between `a` and `b`, in a stable order (sorted keys, ascending indexes); `path` prefixes each path. */
export function diffValues(a: unknown, b: unknown, path = ''): Change[] {
  const out: Change[] = [];
  // Most compared values are equal (a restore proof, an unchanged unit): settle that without
  // building a path per field, then walk only what differs.
  if (sameValues(a, b)) return out;
  walk(a, b, path, out);
  return out;
}

/** True when `diffValues(a, b)` finds no difference; stops at the first one. */
export function sameValues(a: unknown, b: unknown): boolean {
  // Equal primitives need no shape (NaN is not equal to itself, as in walk).
  if (a === b && (typeof a !== 'object' || a === null)) return true;
  const sa = shapeOf(a);
  if (sa !== shapeOf(b)) return false;
  switch (sa) {
    case 'bytes': {
      const [x, y] = [a as Uint8Array, b as Uint8Array];
      if (x.length !== y.length) return false;
      for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
      return true;
    }
    case 'array': {
      const [xa, xb] = [a as unknown[], b as unknown[]];
      for (let i = 0; i < Math.max(xa.length, xb.length); i++) {
        if (!sameValues(i < xa.length ? xa[i] : undefined, i < xb.length ? xb[i] : undefined)) return false;
      }
      return true;
    }
    case 'object': {
      // The same lookups walk makes (a key absent on one side reads as whatever `[k]` gives).
      const [oa, ob] = [a as Record<string, unknown>, b as Record<string, unknown>];
      const keysB = Object.keys(ob);
      let shared = 0;
      for (const k of Object.keys(oa)) {
        if (!sameValues(oa[k], ob[k])) return false;
        if (Object.hasOwn(ob, k)) shared++;
      }
      // Keys only `b` has are left when it has more than the ones both have.
      if (keysB.length !== shared) for (const k of keysB) if (!Object.hasOwn(oa, k) && !sameValues(oa[k], ob[k])) return false;
      return true;
    }
    default:
      return sa === 'missing' || a === b;
  }
}

function walk(a: unknown, b: unknown, path: string, out: Change[]): void {
  const [sa, sb] = [shapeOf(a), shapeOf(b)];
  if (sa === 'missing' && sb === 'missing') return;
  if (sa === 'missing') { out.push({ path, kind: 'added', to: b }); return; }
  if (sb === 'missing') { out.push({ path, kind: 'removed', from: a }); return; }
  if (sa !== sb) { out.push({ path, kind: 'changed', from: a, to: b }); return; }
  switch (sa) {
    case 'bytes':
      diffBytes(a as Uint8Array, b as Uint8Array, path, out);
      return;
    case 'array': {
      const [xa, xb] = [a as unknown[], b as unknown[]];
      for (let i = 0; i < Math.max(xa.length, xb.length); i++) walk(i < xa.length ? xa[i] : undefined, i < xb.length ? xb[i] : undefined, joinIndex(path, i), out);
      return;
    }
    case 'object': {
      const [oa, ob] = [a as Record<string, unknown>, b as Record<string, unknown>];
      const keys = [...new Set([...Object.keys(oa), ...Object.keys(ob)])].sort();
      for (const k of keys) walk(oa[k], ob[k], joinKey(path, k), out);
      return;
    }
    default:
      // NaN is not a saved-state value, so `!==` is the right equality for the remaining shapes.
      if (a !== b) out.push({ path, kind: 'changed', from: a, to: b });
  }
}
