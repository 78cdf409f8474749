import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FdtBuilder, fdtNode, prop, readFdt, writeFdt } from '../../lib/fdt/index.ts';
import { isHclError } from '../../lib/errors.ts';
import { dtbToDts } from './dtc.ts';

// The builder is what writeFdt runs on, so writer.test.ts (byte-identical to dtc) covers its
// layout; these cases cover what only the builder can be asked: streamed nodes, its own cell
// properties, a buffer that must grow, and misuse.

test('a streamed tree writes the same bytes as the same tree through writeFdt', () => {
  const tree = fdtNode('', [prop.u32('#address-cells', 2)], [
    fdtNode('cpus', [prop.u32('#address-cells', 1), prop.u32('#size-cells', 0)], [
      fdtNode('cpu@0', [prop.str('device_type', 'cpu'), prop.u32('reg', 0xfeed_beef), prop.u64('x', 0x1_2345_6789n)]),
    ]),
    fdtNode('chosen', [prop.str('bootargs', 'console=ttyS0')]),
  ]);
  const streamed = new FdtBuilder().begin('').u32('#address-cells', 2)
    .begin('cpus').u32('#address-cells', 1).u32('#size-cells', 0)
    .begin('cpu@0').props([prop.str('device_type', 'cpu')]).u32('reg', 0xfeed_beef).u64('x', 0x1_2345_6789n).end()
    .end()
    .node(fdtNode('chosen', [prop.str('bootargs', 'console=ttyS0')]))
    .end().finish(3, [{ address: 0x1000n, size: 0x2000n }]);
  assert.equal(streamed, writeFdt({ bootCpuidPhys: 3, reservations: [{ address: 0x1000n, size: 0x2000n }], root: tree }));
});

test('u32 and u64 encode as prop.u32 and prop.u64 do, negative and wide values included', () => {
  for (const [v, w] of [[0, 0n], [1, 1n], [0xffff_ffff, (1n << 64n) - 1n], [-1, -1n]] as const) {
    const dtb = new FdtBuilder().begin('').u32('a', v).u64('b', w).end().finish(0, []);
    const root = readFdt(dtb).root;
    assert.equal(root.properties.map((p) => [...p.value]), [[...prop.u32('a', v).value], [...prop.u64('b', w).value]], String(v));
  }
});

test('a tree past the first 64 KiB buffer grows it and stays readable by dtc', () => {
  const b = new FdtBuilder().begin('').begin('cpus').u32('#address-cells', 1).u32('#size-cells', 0);
  for (let i = 0; i < 2000; i++) b.begin(`cpu@${i.toString(16)}`).u32('reg', i).props([prop.str('status', 'okay')]).end();
  const dtb = b.end().end().finish(0, []);
  assert.ok(dtb.length > 64 * 1024, String(dtb.length));
  const cpus = readFdt(dtb).root.children[0]!;
  assert.is(cpus.children.length, 2000);
  assert.equal([...cpus.children[1999]!.properties[0]!.value], [0, 0, 0x07, 0xcf]);
  const r = dtbToDts(dtb);
  assert.equal([r.status, r.stderr], [0, '']);
});

const invalid = (fn: () => unknown, message: string) => {
  try {
    fn();
    assert.unreachable('accepted');
  } catch (e) {
    assert.ok(isHclError(e, 'FDT_INVALID_TREE'), String(e));
    assert.match((e as Error).message, message);
  }
};

test('names and duplicates are refused with the path of the node, as writeFdt refuses them', () => {
  invalid(() => new FdtBuilder().begin('x'), 'fdt tree: /: root node name must be empty, found "x"');
  invalid(() => new FdtBuilder().begin('').begin('a').begin('b/c'), 'fdt tree: /a/b/c: bad node name "b/c"');
  invalid(() => new FdtBuilder().begin('').begin('a').end().begin('a'), 'fdt tree: /: duplicate child node "a"');
  invalid(() => new FdtBuilder().begin('').begin('n').u32('p', 1).u64('p', 1n), 'fdt tree: /n: duplicate property "p"');
  invalid(() => new FdtBuilder().begin('').u32('a b', 1), 'fdt tree: /: bad property name "a b"');
  const many = new FdtBuilder().begin('');
  for (let i = 0; i < 12; i++) many.u32(`p${i}`, i);
  invalid(() => many.u32('p3', 0), 'duplicate property "p3"');
  invalid(() => new FdtBuilder().begin('').end().finish(2 ** 32, []), 'boot_cpuid_phys 4294967296 is not a u32');
  invalid(() => new FdtBuilder().begin('').end().finish(0, [{ address: 0n, size: 0n }]), 'would end the reservation block');
});

test('misuse is a TypeError: a property after a child, an unclosed or second root, finishing twice', () => {
  assert.throws(() => new FdtBuilder().begin('').begin('a').end().u32('late', 1), (e: Error) => e instanceof TypeError && /after a child node of \//.test(e.message));
  assert.throws(() => new FdtBuilder().begin('').begin('a').finish(0, []), (e: Error) => e instanceof TypeError && /\/a still open/.test(e.message));
  assert.throws(() => new FdtBuilder().finish(0, []), (e: Error) => e instanceof TypeError && /no root node/.test(e.message));
  assert.throws(() => new FdtBuilder().begin('').end().begin(''), (e: Error) => e instanceof TypeError && /second root/.test(e.message));
  assert.throws(() => new FdtBuilder().u32('a', 1), (e: Error) => e instanceof TypeError && /outside any node/.test(e.message));
  const b = new FdtBuilder().begin('').end();
  b.finish(0, []);
  assert.throws(() => b.finish(0, []), (e: Error) => e instanceof TypeError && /finished already/.test(e.message));
});

test.run();
