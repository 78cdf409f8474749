import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { isHclError } from '../lib/errors.ts';

/**
 * The law suite (STYLE.md): reusable properties that every codec and state unit runs. Each law
 * registers one uvu test running a fast-check property; the run count comes from
 * HCLCKPT_PROP_RUNS (default per law, `npm run prop:long` raises it).
 */

/** Runs for one property: HCLCKPT_PROP_RUNS when set, else `fallback`. */
export function propRuns(fallback = 25): number {
  const env = process.env['HCLCKPT_PROP_RUNS'];
  const n = env === undefined ? NaN : Number(env);
  return Number.isSafeInteger(n) && n > 0 ? n : fallback;
}

/** fast-check parameters for a law: the run count plus HCLCKPT_PROP_SEED when given (replay). */
export function lawParams<T>(): fc.Parameters<T> {
  const seed = Number(process.env['HCLCKPT_PROP_SEED']);
  return { numRuns: propRuns(), ...(Number.isSafeInteger(seed) ? { seed } : {}) };
}

const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** decode(encode(x)) equals x (deep equality unless `eq` is given). */
export function roundTrip<T>(name: string, arb: fc.Arbitrary<T>, encode: (v: T) => Uint8Array, decode: (b: Uint8Array) => T, eq?: (a: T, b: T) => boolean): void {
  test(`${name}: decode(encode(x)) is x`, () => {
    fc.assert(
      fc.property(arb, (v) => {
        const back = decode(encode(v));
        if (eq === undefined) assert.equal(back, v);
        else assert.ok(eq(back, v), `${name}: round trip changed the value`);
      }),
      lawParams(),
    );
  });
}

/**
 * An equal value built another way: object keys and Map entries inserted in reverse order, byte
 * arrays as views at a non-zero offset into a larger buffer. An encoder that depends on insertion
 * order or on a view's underlying buffer encodes it differently.
 */
function rebuilt<T>(v: T): T {
  const r = (x: unknown): unknown => {
    if (x instanceof Uint8Array) {
      const buf = new Uint8Array(x.length + 8).fill(0xa5);
      buf.set(x, 8);
      return buf.subarray(8);
    }
    if (Array.isArray(x)) return x.map(r);
    if (x instanceof Map) return new Map([...x].reverse().map(([k, y]) => [k, r(y)]));
    if (x !== null && typeof x === 'object' && (Object.getPrototypeOf(x) === Object.prototype || Object.getPrototypeOf(x) === null)) {
      return Object.fromEntries(Object.entries(x).reverse().map(([k, y]) => [k, r(y)]));
    }
    return x;
  };
  return r(v) as T;
}

/** Equal values encode to the same bytes, however each was built (see `rebuilt`). */
export function canonicalBytes<T>(name: string, arb: fc.Arbitrary<T>, encode: (v: T) => Uint8Array): void {
  test(`${name}: equal values encode to equal bytes`, () => {
    fc.assert(
      fc.property(arb, (v) => {
        const other = rebuilt(v);
        assert.equal(other, v, `${name}: the rebuilt value is equal to the original`);
        assert.ok(equalBytes(encode(v), encode(other)), `${name}: an equal value built in another key order encodes differently`);
      }),
      lawParams(),
    );
  });
}

/**
 * Every strict prefix of an encoding fails to decode with an HclError and nothing else (no
 * RangeError, no silent success). Long encodings are probed at up to `maxPrefixes` cut points;
 * prefixes shorter than `shortest` are skipped (for a format where empty input is valid on its own).
 */
export function rejectsTruncation<T>(name: string, arb: fc.Arbitrary<T>, encode: (v: T) => Uint8Array, decode: (b: Uint8Array) => unknown, maxPrefixes = 64, shortest = 0): void {
  test(`${name}: every strict prefix is rejected with an HclError`, () => {
    fc.assert(
      fc.property(arb, (v) => {
        const bytes = encode(v);
        const step = Math.max(1, Math.ceil(bytes.length / maxPrefixes));
        const cuts = new Set<number>([shortest, bytes.length - 1]);
        for (let n = shortest; n < bytes.length; n += step) cuts.add(n);
        for (const n of cuts) {
          if (n < shortest || n >= bytes.length) continue;
          let threw: unknown;
          try {
            decode(bytes.slice(0, n));
          } catch (e) {
            threw = e;
          }
          assert.ok(threw !== undefined, `${name}: prefix of ${n}/${bytes.length} bytes decoded without error`);
          assert.ok(isHclError(threw), `${name}: prefix of ${n}/${bytes.length} bytes threw ${String(threw)}`);
        }
      }),
      lawParams(),
    );
  });
}

/** A state unit under test with the operations a property drives it through. */
export interface UnitCase<S, Op> {
  /** A fresh unit. */
  make: () => { save(): S; restore(state: S): void };
  /** Operations that change the unit's state. */
  ops: Op[];
  apply: (unit: { save(): S; restore(state: S): void }, op: Op) => void;
}

/**
 * For any sequence of operations: saving, restoring into a fresh unit and saving again gives
 * the same state, and (when `encode` is given) the same bytes.
 */
export function restoreOfSaveIsIdentity<S, Op>(name: string, arbUnitAndOps: fc.Arbitrary<UnitCase<S, Op>>, encode?: (s: S) => Uint8Array): void {
  test(`${name}: restore(save()) then save() is identity`, () => {
    fc.assert(
      fc.property(arbUnitAndOps, ({ make, ops, apply }) => {
        const unit = make();
        for (const op of ops) apply(unit, op);
        const saved = unit.save();
        const fresh = make();
        fresh.restore(structuredClone(saved));
        const again = fresh.save();
        assert.equal(again, saved);
        if (encode !== undefined) assert.ok(equalBytes(encode(again), encode(saved)), `${name}: re-saved state encodes differently`);
      }),
      lawParams(),
    );
  });
}
