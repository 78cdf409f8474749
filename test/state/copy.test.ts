import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { copyState } from '../../lib/state/copy.ts';

// Plain data as units hold it, `undefined` object values included.
const value = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.constant(undefined),
    fc.boolean(),
    fc.double(),
    fc.string(),
    fc.bigInt(),
    fc.uint8Array({ maxLength: 20 }),
    fc.array(tie('v'), { maxLength: 5 }),
    fc.dictionary(fc.string(), tie('v'), { maxKeys: 5 }),
  ),
})).v;

// Every object, array and byte buffer reachable from `v`.
function containers(v: unknown, out: object[] = []): object[] {
  if (typeof v !== 'object' || v === null) return out;
  out.push(v);
  if (!(v instanceof Uint8Array)) for (const x of Object.values(v)) containers(x, out);
  return out;
}

test('copyState equals structuredClone on plain data, keys and prototypes included', () => {
  fc.assert(fc.property(value, (v) => {
    const c = copyState(v);
    assert.equal(c, structuredClone(v));
    const [a, b] = [containers(v), containers(c)];
    assert.is(b.length, a.length);
    b.forEach((x, i) => {
      assert.is(Object.getPrototypeOf(x), Object.getPrototypeOf(structuredClone(a[i])));
      if (!(x instanceof Uint8Array)) assert.equal(Object.keys(x), Object.keys(a[i]!));
    });
  }), { numRuns: 300 });
});

test('the copy shares nothing mutable with the original', () => {
  fc.assert(fc.property(value, (v) => {
    const original = containers(v);
    const copied = new Set<object>(containers(copyState(v)));
    for (const x of original) assert.not.ok(copied.has(x));
    for (const x of original) if (x instanceof Uint8Array) assert.not.ok(containers(copyState(v)).some((y) => y instanceof Uint8Array && y.buffer === x.buffer));
  }), { numRuns: 200 });
});

test('values outside plain data are copied as structuredClone copies them', () => {
  const cases: Array<[string, unknown]> = [
    ['Map', { m: new Map([['a', 1]]) }],
    ['Date', [new Date(5)]],
    ['Uint16Array', { a: new Uint16Array([1, 2]) }],
    ['__proto__ key', JSON.parse('{"__proto__":{"x":1}}')],
  ];
  for (const [name, v] of cases) {
    const c = copyState(v);
    assert.equal(c, structuredClone(v), name);
    assert.is(Object.getPrototypeOf(c), Object.getPrototypeOf(structuredClone(v)), name);
    assert.equal(Object.keys(c as object), Object.keys(structuredClone(v) as object), name);
  }
});

test.run();
