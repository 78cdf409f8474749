import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { byteRanges, diffValues, joinKey, type Change } from '../../lib/diff/index.ts';
import { sameValues } from '../../lib/diff/values.ts';

const b = (...xs: number[]) => Uint8Array.from(xs);
const page = (n: number, f: (i: number) => number) => Uint8Array.from({ length: n }, (_, i) => f(i));

const CASES: Array<{ title: string; a: unknown; b: unknown; want: Change[] }> = [
  { title: 'equal scalars', a: { x: 1, y: 'a', z: 5n, n: null, t: true }, b: { t: true, n: null, z: 5n, y: 'a', x: 1 }, want: [] },
  { title: 'changed number', a: { tail: 17 }, b: { tail: 42 }, want: [{ path: 'tail', kind: 'changed', from: 17, to: 42 }] },
  { title: 'changed bigint', a: { asq: 0n }, b: { asq: 0x1000n }, want: [{ path: 'asq', kind: 'changed', from: 0n, to: 0x1000n }] },
  { title: 'number vs bigint is a change of type', a: { v: 1 }, b: { v: 1n }, want: [{ path: 'v', kind: 'changed', from: 1, to: 1n }] },
  { title: 'added and removed keys, sorted', a: { b: 1, c: 2 }, b: { a: 0, b: 1 }, want: [{ path: 'a', kind: 'added', to: 0 }, { path: 'c', kind: 'removed', from: 2 }] },
  { title: 'undefined property counts as absent', a: { a: undefined, b: 1 }, b: { b: 1 }, want: [] },
  { title: 'array by index, longer side adds', a: [1, 2], b: [1, 3, 4], want: [{ path: '[1]', kind: 'changed', from: 2, to: 3 }, { path: '[2]', kind: 'added', to: 4 }] },
  { title: 'array shorter side removes', a: [1, 2, 3], b: [1], want: [{ path: '[1]', kind: 'removed', from: 2 }, { path: '[2]', kind: 'removed', from: 3 }] },
  { title: 'nested path', a: { controllers: [{ ioQueues: [{}, {}, {}, { sqTail: 17 }] }] }, b: { controllers: [{ ioQueues: [{}, {}, {}, { sqTail: 42 }] }] }, want: [{ path: 'controllers[0].ioQueues[3].sqTail', kind: 'changed', from: 17, to: 42 }] },
  { title: 'null to object', a: { admin: null }, b: { admin: { q: 1 } }, want: [{ path: 'admin', kind: 'changed', from: null, to: { q: 1 } }] },
  { title: 'odd key quoted', a: { 'a b': 1 }, b: { 'a b': 2 }, want: [{ path: '["a b"]', kind: 'changed', from: 1, to: 2 }] },
  { title: 'bytes: one changed byte', a: { cmos: b(1, 2, 3) }, b: { cmos: b(1, 9, 3) }, want: [{ path: 'cmos', kind: 'changed', from: b(2), to: b(9), range: { start: 1, end: 2 } }] },
  { title: 'bytes: grown tail', a: { fifo: b(1) }, b: { fifo: b(1, 2, 3) }, want: [{ path: 'fifo', kind: 'added', to: b(2, 3), range: { start: 1, end: 3 } }] },
  { title: 'bytes: shrunk tail', a: { fifo: b(1, 2, 3) }, b: { fifo: b(1) }, want: [{ path: 'fifo', kind: 'removed', from: b(2, 3), range: { start: 1, end: 3 } }] },
  { title: 'bytes vs array is a change of type', a: { v: b(1) }, b: { v: [1] }, want: [{ path: 'v', kind: 'changed', from: b(1), to: [1] }] },
];

for (const c of CASES) {
  test(`diffValues: ${c.title}`, () => {
    assert.equal(diffValues(c.a, c.b), c.want);
  });
}

test('sameValues is true exactly where the expected diff is empty', () => {
  for (const c of CASES) assert.is(sameValues(c.a, c.b), c.want.length === 0, c.title);
});

// A leaf of `v` chosen by `pick`, replaced by something of another value or shape.
function mutate(v: unknown, pick: number): unknown {
  if (Array.isArray(v) && v.length > 0) return v.map((x, i) => (i === pick % v.length ? mutate(x, pick >> 1) : x));
  if (v instanceof Uint8Array) return v.length > 0 ? v.map((x, i) => (i === pick % v.length ? x ^ 1 : x)) : Uint8Array.of(0);
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v);
    if (keys.length === 0) return { added: 1 };
    const k = keys[pick % keys.length]!;
    return { ...v, [k]: mutate((v as Record<string, unknown>)[k], pick >> 1) };
  }
  return typeof v === 'number' ? v + 1 : [v];
}

test('sameValues: a value equals its structured copy and differs from any one-leaf mutation', () => {
  const value = fc.letrec<{ v: unknown }>((tie) => ({
    v: fc.oneof({ depthSize: 'small' }, fc.integer(), fc.string(), fc.bigInt(), fc.constant(null), fc.uint8Array({ maxLength: 8 }),
      fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(fc.string({ minLength: 1 }), tie('v'), { maxKeys: 4 })),
  })).v;
  fc.assert(fc.property(value, fc.nat(), (v, pick) => {
    assert.ok(sameValues(v, structuredClone(v)));
    const m = mutate(v, pick);
    assert.not.ok(sameValues(v, m));
    assert.ok(diffValues(v, m).length > 0);
  }), { numRuns: 300 });
});

test('diffValues prefixes every path with the given root', () => {
  const got = diffValues({ ioQueues: [{ tail: 17 }] }, { ioQueues: [{ tail: 42 }] }, 'nvme');
  assert.equal(got.map((c) => c.path), ['nvme.ioQueues[0].tail']);
  assert.is(joinKey('', 'x'), 'x');
  assert.is(joinKey('nvme', 'x'), 'nvme.x');
});

test('diffValues of a value with itself is empty (deep structure)', () => {
  const v = { a: [{ b: b(1, 2), c: [1n, 2n] }], d: { e: null } };
  assert.equal(diffValues(v, structuredClone(v)), []);
});

// Byte ranges: derived from the positions the test itself changes.
const RANGE_CASES: Array<{ title: string; len: number; changed: number[] }> = [
  { title: 'one run', len: 64, changed: [0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f] },
  { title: 'two runs far apart', len: 256, changed: [3, 4, 200] },
  { title: 'runs closer than the gap fold into one', len: 64, changed: [10, 14] },
  { title: 'first and last byte', len: 4096, changed: [0, 4095] },
];
for (const c of RANGE_CASES) {
  test(`byteRanges: ${c.title}`, () => {
    const a = page(c.len, (i) => i & 0xff);
    const bb = a.slice();
    for (const i of c.changed) bb[i] = (bb[i] ?? 0) ^ 0xff;
    const ranges = byteRanges(a, bb, 8);
    // Every changed byte is covered, every range starts and ends on a changed byte, gaps ≥ 8.
    for (const i of c.changed) assert.ok(ranges.some((r) => i >= r.start && i < r.end), `byte ${i} not covered`);
    for (const r of ranges) assert.ok(c.changed.includes(r.start) && c.changed.includes(r.end - 1), JSON.stringify(r));
    for (let k = 1; k < ranges.length; k++) assert.ok((ranges[k]?.start ?? 0) - (ranges[k - 1]?.end ?? 0) >= 8);
  });
}

test('byteRanges: exact ranges for a known pattern', () => {
  const a = new Uint8Array(64);
  const bb = a.slice();
  bb.fill(1, 0x10, 0x20);
  assert.equal(byteRanges(a, bb), [{ start: 0x10, end: 0x20 }]);
  assert.equal(byteRanges(a, bb, 0), [{ start: 0x10, end: 0x20 }]);
  bb[0x30] = 1;
  assert.equal(byteRanges(a, bb, 8), [{ start: 0x10, end: 0x20 }, { start: 0x30, end: 0x31 }]);
  assert.equal(byteRanges(a, bb, 17), [{ start: 0x10, end: 0x31 }]);
});

test.run();
