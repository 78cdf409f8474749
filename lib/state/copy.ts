/**
 * Deep copies of saved-state values. Units and the hypervisor copy their whole state on every
 * save and restore; for plain data (the canonical data model) a direct walk is several times
 * faster than `structuredClone`, which serializes and deserializes every object.
 */

function isPlainObject(v: object): v is Record<string, unknown> {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * A deep copy of `value`, equal to `structuredClone(value)` for plain data: plain objects (own
 * enumerable keys, `undefined` values kept) and arrays are copied recursively, each `Uint8Array`
 * gets its own buffer; anything else (Map, Date, other classes) is handed to `structuredClone`.
 */
export function copyState<T>(value: T): T {
  return copy(value) as T;
}

function copy(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    for (let i = 0; i < v.length; i++) out.push(copy(v[i]));
    return out;
  }
  if (v instanceof Uint8Array && v.constructor === Uint8Array) return v.slice();
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) {
      // Assigning `__proto__` would set the prototype instead of a key.
      if (k === '__proto__') Object.defineProperty(out, k, { value: copy(v[k]), enumerable: true, writable: true, configurable: true });
      else out[k] = copy(v[k]);
    }
    return out;
  }
  return structuredClone(v);
}
