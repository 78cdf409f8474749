import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { readFdt, writeFdt } from '../lib/fdt/index.ts';
import type { Fdt, FdtNode, FdtProperty } from '../lib/fdt/index.ts';
import { isHclError } from '../lib/errors.ts';

const RUNS = Number(process.env['HCLCKPT_PROP_RUNS'] ?? 200);

const nameChars = fc.constantFrom(...'abcxyz019,._+-#'.split(''));
const baseName = fc.string({ unit: nameChars, minLength: 1, maxLength: 8 });
const nodeName = fc.tuple(baseName, fc.option(fc.nat({ max: 0xffff }), { nil: undefined }))
  .map(([n, unit]) => (unit === undefined ? n : `${n}@${unit.toString(16)}`));
const property: fc.Arbitrary<FdtProperty> = fc.record({
  name: baseName,
  value: fc.oneof(fc.uint8Array({ maxLength: 24 }), fc.constant(new TextEncoder().encode('str\0list\0'))),
}, { noNullPrototype: true });
const uniqueBy = <T extends { name: string }>(a: fc.Arbitrary<T>, max: number): fc.Arbitrary<T[]> =>
  fc.uniqueArray(a, { selector: (x) => x.name, maxLength: max });

// Depth-bounded recursion: fc.memo hands each level a smaller budget.
const node: fc.Memo<FdtNode> = fc.memo((depth) => fc.record({
  name: nodeName,
  properties: uniqueBy(property, 5),
  children: depth <= 1 ? fc.constant([]) : uniqueBy(node(depth - 1), 3),
}, { noNullPrototype: true }));

/** Random valid trees: named children under an empty-named root, random reservations. */
const fdtArb: fc.Arbitrary<Fdt> = fc.record({
  bootCpuidPhys: fc.nat({ max: 0xffff_ffff }),
  reservations: fc.array(
    fc.record({ address: fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }), size: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }, { noNullPrototype: true }),
    { maxLength: 3 },
  ),
  root: fc.record({ properties: uniqueBy(property, 4), children: uniqueBy(node(4), 4) }, { noNullPrototype: true }).map((r) => ({ name: '', ...r })),
}, { noNullPrototype: true });

test('fdt: read(write(tree)) is the tree, and write → read → write is byte-identical', () => {
  fc.assert(
    fc.property(fdtArb, (fdt) => {
      const blob = writeFdt(fdt);
      const back = readFdt(blob);
      assert.equal(back, fdt);
      assert.equal(writeFdt(back), blob);
    }),
    { numRuns: RUNS },
  );
});

test('fdt: a mutated or truncated blob gives a tree or an HclError, nothing else', () => {
  const mutation = fc.tuple(fdtArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), fc.option(fc.nat(), { nil: undefined }));
  fc.assert(
    fc.property(mutation, ([fdt, edits, cut]) => {
      const blob = writeFdt(fdt);
      for (const [at, v] of edits) blob[at % blob.length] = v;
      const input = cut === undefined ? blob : blob.subarray(0, cut % (blob.length + 1));
      try {
        readFdt(input);
      } catch (e) {
        if (!isHclError(e) || !e.code.startsWith('FDT_')) throw e;
      }
    }),
    { numRuns: RUNS * 5 },
  );
});

test.run();
