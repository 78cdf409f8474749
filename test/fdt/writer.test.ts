import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fdtNode, prop, readFdt, writeFdt } from '../../lib/fdt/index.ts';
import type { Fdt, FdtNode } from '../../lib/fdt/index.ts';
import { isHclError } from '../../lib/errors.ts';
import { DTS_CASES } from './cases.ts';
import { dtbToDts, dtsToDtb } from './dtc.ts';

for (const c of DTS_CASES) {
  test(`writeFdt of "${c.name}" is byte-identical to dtc's blob`, () => {
    assert.equal(writeFdt(c.tree), dtsToDtb(c.source));
  });
  test(`writeFdt of "${c.name}" decompiles with dtc, exit 0, no warnings`, () => {
    const r = dtbToDts(writeFdt(c.tree));
    assert.is(r.stderr, '');
    assert.is(r.status, 0);
  });
}

test('writer layout: header 40 bytes, reservations at 40, struct then strings, version 17/16', () => {
  const blob = writeFdt(DTS_CASES[1]!.tree);
  const dv = new DataView(blob.buffer);
  const [total, offStruct, offStrings, offRsv, version, lastComp, , sizeStrings, sizeStruct] =
    Array.from({ length: 9 }, (_, i) => dv.getUint32(4 + i * 4, false));
  assert.equal([offRsv, version, lastComp, total], [40, 17, 16, blob.length]);
  assert.is(offStruct, 40 + 3 * 16);
  assert.is(offStrings, offStruct! + sizeStruct!);
  assert.is(total, offStrings! + sizeStrings!);
});

test('the strings block holds each name once', () => {
  const blob = writeFdt(DTS_CASES[3]!.tree);
  const dv = new DataView(blob.buffer);
  const strings = new TextDecoder().decode(blob.subarray(dv.getUint32(12, false)));
  const names = strings.split('\0').slice(0, -1);
  assert.equal(names, [...new Set(names)]);
  assert.not.ok(names.includes('phandle'), 'phandle shares the tail of linux,phandle');
});

const tree = (root: FdtNode): Fdt => ({ bootCpuidPhys: 0, reservations: [], root });
const INVALID: Array<{ why: string; fdt: Fdt; message: string }> = [
  { why: 'named root', fdt: tree(fdtNode('x')), message: 'fdt tree: /: root node name must be empty' },
  { why: 'empty child name', fdt: tree(fdtNode('', [], [fdtNode('')])), message: 'bad node name ""' },
  { why: 'slash in a node name', fdt: tree(fdtNode('', [], [fdtNode('a/b')])), message: 'bad node name "a/b"' },
  { why: 'two @ in a node name', fdt: tree(fdtNode('', [], [fdtNode('a@1@2')])), message: 'bad node name "a@1@2"' },
  { why: 'space in a property name', fdt: tree(fdtNode('', [prop.empty('a b')])), message: 'bad property name "a b"' },
  { why: 'NUL in a property name', fdt: tree(fdtNode('', [prop.empty('a\0')])), message: 'bad property name' },
  { why: 'duplicate property', fdt: tree(fdtNode('', [prop.empty('a'), prop.u32('a', 1)])), message: 'duplicate property "a"' },
  { why: 'duplicate child', fdt: tree(fdtNode('', [], [fdtNode('c', [], [fdtNode('d'), fdtNode('d')])])), message: 'fdt tree: /c: duplicate child node "d"' },
  { why: 'bad name deep down', fdt: tree(fdtNode('', [], [fdtNode('c', [], [fdtNode('d', [prop.empty('é')])])])), message: 'fdt tree: /c/d: bad property name' },
  { why: 'zero reservation', fdt: { bootCpuidPhys: 0, reservations: [{ address: 0n, size: 0n }], root: fdtNode('') }, message: 'would end the reservation block' },
  { why: 'reservation over u64', fdt: { bootCpuidPhys: 0, reservations: [{ address: 1n << 64n, size: 1n }], root: fdtNode('') }, message: 'is not a pair of u64' },
  { why: 'negative boot cpu', fdt: { bootCpuidPhys: -1, reservations: [], root: fdtNode('') }, message: 'boot_cpuid_phys -1 is not a u32' },
];

for (const c of INVALID) {
  test(`FDT_INVALID_TREE: ${c.why}`, () => {
    try {
      writeFdt(c.fdt);
      assert.unreachable('wrote an invalid tree');
    } catch (e) {
      assert.ok(isHclError(e, 'FDT_INVALID_TREE'), String(e));
      assert.match((e as Error).message, c.message);
    }
  });
}

test('write → read → write is byte-identical for every case', () => {
  for (const c of DTS_CASES) {
    const once = writeFdt(c.tree);
    assert.equal(writeFdt(readFdt(once)), once, c.name);
  }
});

test.run();
