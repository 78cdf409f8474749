import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { decodeCanonical, encodeCanonical } from '../../lib/state/codec.ts';
import { isHclError } from '../../lib/errors.ts';

// Values of the canonical data model, without undefined (which objects drop on purpose).
const value = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.string(),
    fc.bigInt({ min: -(1n << 63n), max: (1n << 64n) - 1n }),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(tie('v'), { maxLength: 5 }),
    fc.dictionary(fc.string().filter((k) => k !== '__proto__'), tie('v'), { maxKeys: 5, noNullPrototype: true }),
  ),
})).v;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The same value with every object's keys inserted in reverse order. */
function reverseKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reverseKeys);
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v).reverse()) o[k] = reverseKeys((v as Record<string, unknown>)[k]);
    return o;
  }
  return v;
}

test('round trip is identity (bigint stays bigint, number stays number, bytes stay bytes)', () => {
  fc.assert(fc.property(value, (v) => {
    assert.equal(decodeCanonical(encodeCanonical(v), 'test'), v);
  }), { numRuns: 300 });
});

test('same value gives the same bytes whatever the key insertion order', () => {
  fc.assert(fc.property(value, (v) => {
    assert.is(hex(encodeCanonical(reverseKeys(v))), hex(encodeCanonical(v)));
    assert.is(hex(encodeCanonical(decodeCanonical(encodeCanonical(v), 'test'))), hex(encodeCanonical(v)));
  }), { numRuns: 300 });
});

test('keys are written sorted, ints stay compact, bigint is int64 (msgpack spec bytes)', () => {
  const cases: Array<[unknown, string]> = [
    [{ b: 1, a: 2 }, '82a16102a16201'],
    [{ a: { d: 1, c: 2 } }, '81a16182a16302a16401'],
    [5, '05'],
    [5n, 'd30000000000000005'],
    [(1n << 64n) - 1n, 'cfffffffffffffffff'],
    [new Uint8Array([1, 2]), 'c4020102'],
    [{ a: undefined, b: null }, '81a162c0'],
  ];
  for (const [v, want] of cases) assert.is(hex(encodeCanonical(v)), want, String(want));
});

test('decoded types: int64 → bigint, small ints → number, bin → plain Uint8Array', () => {
  const d = decodeCanonical(encodeCanonical({ big: 7n, small: 7, bin: Buffer.from([9]) }), 't') as Record<string, unknown>;
  assert.is(typeof d['big'], 'bigint');
  assert.is(typeof d['small'], 'number');
  assert.is((d['bin'] as Uint8Array).constructor, Uint8Array);
});

test('decoded buffers are copies, not views into the input', () => {
  const bytes = encodeCanonical({ bin: new Uint8Array([1, 2, 3]) });
  const d = decodeCanonical(bytes, 't') as { bin: Uint8Array };
  bytes.fill(0xee);
  assert.equal([...d.bin], [1, 2, 3]);
  assert.is.not(d.bin.buffer, bytes.buffer);
});

test('encode refuses values outside the data model with TypeError', () => {
  const cases: Array<[string, unknown, string]> = [
    ['Map', new Map([['a', 1]]), 'unsupported Map at $'],
    ['Date', { when: new Date(0) }, 'unsupported Date at $.when'],
    ['undefined top level', undefined, 'unsupported undefined at $'],
    ['undefined in array', [1, undefined], 'undefined at $[1]'],
    ['bigint too large', 1n << 64n, 'does not fit in 64 bits'],
    ['bigint too small', -(1n << 63n) - 1n, 'does not fit in 64 bits'],
    ['Int16Array', new Int16Array(2), 'unsupported Int16Array'],
    ['function', { f: () => 1 }, 'unsupported function at $.f'],
    ['__proto__ key', JSON.parse('{"a":{"__proto__":1}}'), 'key __proto__ at $.a'],
  ];
  for (const [name, v, msg] of cases) {
    assert.throws(() => encodeCanonical(v), (e: unknown) => e instanceof TypeError && e.message.includes(msg), name);
  }
});

test('bad bytes are STATE_DECODE naming the context', () => {
  const cases: Array<[string, string, string]> = [
    ['empty', '', 'cannot decode msgpack'],
    ['truncated array', '92 01', 'cannot decode msgpack'],
    ['truncated str', 'a5 6162', 'cannot decode msgpack'],
    ['trailing bytes', '01 01', 'cannot decode msgpack'],
    ['reserved 0xc1', 'c1', 'unsupported'],
    ['timestamp ext', 'd6ff00000001', 'unsupported Date at $'],
    ['unknown ext', 'd40100', 'cannot decode msgpack'],
    ['undefined ext', '91d40000', 'unsupported undefined at $[0]'],
  ];
  for (const [name, h, msg] of cases) {
    const bytes = Buffer.from(h.replace(/ /g, ''), 'hex');
    assert.throws(
      () => decodeCanonical(bytes, `unit vp[${name}]`),
      (e: unknown) => isHclError(e, 'STATE_DECODE') && e.message.startsWith(`unit vp[${name}]: `) && e.message.includes(msg),
      name,
    );
  }
});

test('random bytes either decode or fail with STATE_DECODE, nothing else', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
    try {
      decodeCanonical(bytes, 'fuzz');
    } catch (e) {
      assert.ok(isHclError(e, 'STATE_DECODE'), `unexpected ${String(e)}`);
    }
  }), { numRuns: 2000 });
});

test('truncating any encoding is refused', () => {
  fc.assert(fc.property(value, fc.nat(), (v, cut) => {
    const bytes = encodeCanonical([v]);
    const n = cut % bytes.length;
    try {
      decodeCanonical(bytes.subarray(0, n), 'trunc');
      assert.unreachable(`prefix of ${n}/${bytes.length} bytes decoded`);
    } catch (e) {
      assert.ok(isHclError(e, 'STATE_DECODE'), `unexpected ${String(e)}`);
    }
  }), { numRuns: 300 });
});

test.run();
