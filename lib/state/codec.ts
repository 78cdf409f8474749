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

const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  int64AsType: 'bigint',
  copyBuffers: true,
});

const MIN_I64 = -(1n << 63n);
const MAX_U64 = (1n << 64n) - 1n;

/** Encodes `value` to canonical msgpack; the same value always gives the same bytes. */
export function encodeCanonical(value: unknown): Uint8Array {
  const out = packr.pack(toWire(value, '$', 0));
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
  return fromWire(raw, context, '$', 0);
}

function isPlainObject(v: object): v is Record<string, unknown> {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function describe(v: unknown): string {
  if (v === null || typeof v !== 'object') return typeof v;
  return (v as object).constructor?.name ?? 'object';
}

// Encode side: a value outside the data model is a programming mistake, so TypeError.
function toWire(v: unknown, path: string, depth: number): unknown {
  if (depth > MAX_DEPTH) throw new TypeError(`canonical msgpack: nesting deeper than ${MAX_DEPTH} at ${path}`);
  switch (typeof v) {
    case 'boolean':
    case 'string':
      return v;
    case 'number':
      return Object.is(v, -0) ? 0 : v;
    case 'bigint':
      if (v < MIN_I64 || v > MAX_U64) throw new TypeError(`canonical msgpack: bigint ${v} at ${path} does not fit in 64 bits`);
      return v;
    case 'object': {
      if (v === null) return null;
      if (v instanceof Uint8Array) return v;
      if (Array.isArray(v)) {
        return v.map((x: unknown, i) => {
          if (x === undefined) throw new TypeError(`canonical msgpack: undefined at ${path}[${i}]`);
          return toWire(x, `${path}[${i}]`, depth + 1);
        });
      }
      if (isPlainObject(v)) {
        // A Map keeps insertion order in msgpackr, so the sorted order is exactly what is written.
        const m = new Map<string, unknown>();
        for (const k of Object.keys(v).sort()) {
          // msgpackr renames this key on decode (prototype pollution guard); refuse it up front.
          if (k === '__proto__') throw new TypeError(`canonical msgpack: key __proto__ at ${path}`);
          if (v[k] !== undefined) m.set(k, toWire(v[k], `${path}.${k}`, depth + 1));
        }
        return m;
      }
      throw new TypeError(`canonical msgpack: unsupported ${describe(v)} at ${path}`);
    }
    default:
      throw new TypeError(`canonical msgpack: unsupported ${describe(v)} at ${path}`);
  }
}

// Decode side: anything outside the data model came from the bytes, so STATE_DECODE.
function fromWire(v: unknown, context: string, path: string, depth: number): unknown {
  const bad = (what: string): never => {
    throw new HclError('STATE_DECODE', `${context}: cannot decode msgpack: ${what} at ${path}`);
  };
  if (depth > MAX_DEPTH) bad(`nesting deeper than ${MAX_DEPTH}`);
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
        return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      }
      if (Array.isArray(v)) return v.map((x: unknown, i) => fromWire(x, context, `${path}[${i}]`, depth + 1));
      if (isPlainObject(v)) {
        const o: Record<string, unknown> = {};
        for (const k of Object.keys(v)) o[k] = fromWire(v[k], context, `${path}.${k}`, depth + 1);
        return o;
      }
      return bad(`unsupported ${describe(v)}`);
    }
    default:
      return bad(`unsupported ${describe(v)}`);
  }
}
