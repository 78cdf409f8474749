import { Packr } from 'msgpackr';
import { HclError } from '../errors.ts';

/**
 * Canonical msgpack: the one encoding for saved state, manifests and property-run records.
 *
 * The data model is plain data: `null`, booleans, numbers, strings, bigints, `Uint8Array`,
 * arrays and plain objects. Rules, applied recursively and identically everywhere:
 * - object keys are written sorted by UTF-16 code units (JS default `sort()`), so key insertion
 *   order never changes the bytes;
 * - an object property whose value is `undefined` is omitted (`{ a: undefined }` encodes as
 *   `{}`); `undefined` anywhere else (top level, array element) is refused;
 * - a bigint is always written as msgpack int64 (or uint64 at and above 2^63) and reads back as a
 *   bigint; a number is written by msgpackr's rule (int up to 32 bits, else float64) and reads
 *   back as a number — so the JS type survives a round trip;
 * - `Uint8Array` (and Buffer) is msgpack bin and reads back as a plain `Uint8Array` that owns a
 *   copy of its bytes (never a view into the input);
 * - the key `__proto__` is refused (msgpackr renames it on decode, so it cannot round-trip);
 * - no records, no shared structures, no extensions: anything else (Map, Set, Date, class
 *   instances, other typed arrays) is refused on encode and on decode.
 */

/** A value of the canonical data model. */
export type CanonicalValue =
  | null
  | boolean
  | number
  | string
  | bigint
  | Uint8Array
  | CanonicalValue[]
  | { [key: string]: CanonicalValue | undefined };

/** Deepest nesting accepted on encode and decode; saved state is far shallower. */
export const MAX_DEPTH = 512;

// variableMapSize: a plain object gets the same map header a Map of its size gets (fixmap below
// 16 keys), so the encoder may hand either to msgpackr and the bytes are the same.
const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  int64AsType: 'bigint',
  copyBuffers: true,
  variableMapSize: true,
});

const MIN_I64 = -(1n << 63n);
const MAX_U64 = (1n << 64n) - 1n;

// The walkers keep the field path as a stack of segments and only format it for an error message:
// building a path string per value was most of the codec's time on large states.
type PathStack = Array<string | number>;

function formatPath(stack: PathStack): string {
  let out = '$';
  for (const seg of stack) out += typeof seg === 'number' ? `[${seg}]` : `.${seg}`;
  return out;
}

/** Encodes `value` to canonical msgpack; the same value always gives the same bytes. */
export function encodeCanonical(value: unknown): Uint8Array {
  return encodeCanonicalWire(toWire(value, [], 0));
}

/**
 * Packs a tree already in canonical form (lib/state/fields.ts builds one: Maps with integer keys
 * in ascending order, scalars of the data model) with the same msgpack settings.
 */
export function encodeCanonicalWire(wire: unknown): Uint8Array {
  const out = packr.pack(wire);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * Decodes canonical msgpack. Any bad input (truncated, trailing bytes, extensions, values
 * outside the data model) is an HclError STATE_DECODE whose message starts with `context`.
 */
export function decodeCanonical(bytes: Uint8Array, context: string): unknown {
  let raw: unknown;
  try {
    raw = packr.unpack(bytes);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new HclError('STATE_DECODE', `${context}: cannot decode msgpack (${bytes.length} bytes): ${msg}`, { cause: e });
  }
  return fromWire(raw, context, [], 0);
}

function isPlainObject(v: object): v is Record<string, unknown> {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function describe(v: unknown): string {
  if (v === null || typeof v !== 'object') return typeof v;
  return (v as object).constructor?.name ?? 'object';
}

// Keys that are array indexes are enumerated before all others whatever the insertion order, so
// an object holding one cannot carry the sorted order itself; a Map (insertion order) does.
function hasIndexLikeKey(keys: readonly string[]): boolean {
  for (const k of keys) {
    const c = k.charCodeAt(0);
    if (c >= 48 && c <= 57) return true;
  }
  return false;
}

// Insertion sort by UTF-16 code units (what `sort()` does): most objects have a handful of keys,
// where this is several times faster than the generic sort; large ones take the generic sort.
function sortKeys(keys: string[]): string[] {
  if (keys.length > 64) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i]!;
    let j = i - 1;
    for (; j >= 0 && keys[j]! > k; j--) keys[j + 1] = keys[j]!;
    keys[j + 1] = k;
  }
  return keys;
}

// Saved state is mostly arrays of same-shaped objects, so the last key list's sorted order is
// usually the next one's too; the cached result is only read, never changed.
let lastKeys: readonly string[] = [];
let lastSorted: readonly string[] = [];

function sortedKeysOf(v: object): readonly string[] {
  const keys = Object.keys(v);
  if (keys.length === lastKeys.length) {
    let same = true;
    for (let i = 0; i < keys.length && same; i++) same = keys[i] === lastKeys[i];
    if (same) return lastSorted;
  }
  lastKeys = keys;
  lastSorted = sortKeys([...keys]);
  return lastSorted;
}

// Encode side: a value outside the data model is a programming mistake, so TypeError.
function toWire(v: unknown, path: PathStack, depth: number): unknown {
  if (depth > MAX_DEPTH) throw new TypeError(`canonical msgpack: nesting deeper than ${MAX_DEPTH} at ${formatPath(path)}`);
  switch (typeof v) {
    case 'boolean':
    case 'string':
      return v;
    case 'number':
      return Object.is(v, -0) ? 0 : v;
    case 'bigint':
      if (v < MIN_I64 || v > MAX_U64) throw new TypeError(`canonical msgpack: bigint ${v} at ${formatPath(path)} does not fit in 64 bits`);
      return v;
    case 'object': {
      if (v === null) return null;
      if (v instanceof Uint8Array) return v;
      if (Array.isArray(v)) {
        const out = new Array<unknown>(v.length);
        for (let i = 0; i < v.length; i++) {
          const x: unknown = v[i];
          path.push(i);
          if (x === undefined) throw new TypeError(`canonical msgpack: undefined at ${formatPath(path)}`);
          out[i] = toWire(x, path, depth + 1);
          path.pop();
        }
        return out;
      }
      if (isPlainObject(v)) {
        const keys = sortedKeysOf(v);
        // Insertion order is the written order (variableMapSize), so sorted insertion is canonical.
        const m: Map<string, unknown> | Record<string, unknown> = hasIndexLikeKey(keys) ? new Map<string, unknown>() : {};
        for (const k of keys) {
          // msgpackr renames this key on decode (prototype pollution guard); refuse it up front.
          if (k === '__proto__') throw new TypeError(`canonical msgpack: key __proto__ at ${formatPath(path)}`);
          path.push(k);
          const x = v[k];
          if (x !== undefined) {
            const w = toWire(x, path, depth + 1);
            if (m instanceof Map) m.set(k, w);
            else m[k] = w;
          }
          path.pop();
        }
        return m;
      }
      throw new TypeError(`canonical msgpack: unsupported ${describe(v)} at ${formatPath(path)}`);
    }
    default:
      throw new TypeError(`canonical msgpack: unsupported ${describe(v)} at ${formatPath(path)}`);
  }
}

function decodeError(context: string, what: string, path: PathStack): HclError {
  return new HclError('STATE_DECODE', `${context}: cannot decode msgpack: ${what} at ${formatPath(path)}`);
}

// Decode side: anything outside the data model came from the bytes, so STATE_DECODE. msgpackr's
// arrays and objects are fresh and plain, so they are checked in place; only byte buffers are
// replaced (by a plain Uint8Array over the same copied memory).
function fromWire(v: unknown, context: string, path: PathStack, depth: number): unknown {
  if (depth > MAX_DEPTH) throw decodeError(context, `nesting deeper than ${MAX_DEPTH}`, path);
  switch (typeof v) {
    case 'boolean':
    case 'string':
    case 'number':
    case 'bigint':
      return v;
    case 'object': {
      if (v === null) return null;
      if (v instanceof Uint8Array && (v.constructor === Uint8Array || Buffer.isBuffer(v))) {
        // copyBuffers already gave this value its own memory; drop the Buffer class.
        return v.constructor === Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      }
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          const x: unknown = v[i];
          path.push(i);
          const y = fromWire(x, context, path, depth + 1);
          path.pop();
          if (y !== x) v[i] = y;
        }
        return v;
      }
      if (isPlainObject(v)) {
        for (const k of Object.keys(v)) {
          const x = v[k];
          path.push(k);
          const y = fromWire(x, context, path, depth + 1);
          path.pop();
          if (y !== x) v[k] = y;
        }
        return v;
      }
      throw decodeError(context, `unsupported ${describe(v)}`, path);
    }
    default:
      throw decodeError(context, `unsupported ${describe(v)}`, path);
  }
}
