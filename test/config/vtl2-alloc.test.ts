import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isHclError } from '../../lib/errors.ts';
import { allocateVtl2Ram, subtractVtl2, type NodeRange } from '../../lib/config/index.ts';

// Expected values are worked by hand from openhcl/openhcl_boot/src/host_params/dt/mod.rs
// `allocate_vtl2_ram`: per node = (vtl2_size / node count).next_multiple_of(8 pages); the image's
// pieces are subtracted from their node's share (a piece larger than the share zeroes it); each
// node then takes the rest from its free ranges highest first, each carve starting at
// (end - bytes) & !(8 pages - 1); the result is sorted by start.
const MIB = 0x10_0000n;
const GIB = 0x4000_0000n;
const r = (gpa: bigint, size: bigint, vnode: number): NodeRange => ({ gpa, size, vnode });
const nodes = (n: number): NodeRange[] => Array.from({ length: n }, (_, i) => r((4n + BigInt(i)) * GIB, GIB, i));

test('four nodes: the image covers node 0, each other node gives its top quarter', () => {
  const got = allocateVtl2Ram(nodes(4), { gpa: 4n * GIB, size: 64n * MIB }, 256n * MIB);
  assert.equal(got, [
    r(4n * GIB, 64n * MIB, 0),
    r(6n * GIB - 64n * MIB, 64n * MIB, 1),
    r(7n * GIB - 64n * MIB, 64n * MIB, 2),
    r(8n * GIB - 64n * MIB, 64n * MIB, 3),
  ]);
});

test('three nodes: the share rounds up to 8 pages (256 MiB / 3 = 0x5555555 → 0x5558000)', () => {
  const got = allocateVtl2Ram(nodes(3), { gpa: 4n * GIB, size: 64n * MIB }, 256n * MIB);
  assert.equal(got, [
    r(4n * GIB, 64n * MIB, 0),
    r(5n * GIB - 0x155_8000n, 0x155_8000n, 0), // node 0's share less the image, off its top
    r(6n * GIB - 0x555_8000n, 0x555_8000n, 1),
    r(7n * GIB - 0x555_8000n, 0x555_8000n, 2),
  ]);
});

test('no memory-size: the measured size alone is split', () => {
  const got = allocateVtl2Ram(nodes(2), { gpa: 4n * GIB, size: 64n * MIB }, undefined);
  assert.equal(got, [r(4n * GIB, 64n * MIB, 0), r(6n * GIB - 32n * MIB, 32n * MIB, 1)]);
});

test('the carve start rounds down to 8 pages, so VTL0 keeps an aligned end (up to 7 pages more)', () => {
  const ram = [r(4n * GIB, 256n * MIB + 0x3000n, 0)];
  const got = allocateVtl2Ram(ram, { gpa: 4n * GIB, size: 64n * MIB }, 64n * MIB + 0x8000n);
  // free [4G+64M, 4G+256M+0x3000); 0x8000 wanted: (end - 0x8000) & !0x7fff = 4G+256M-0x8000.
  assert.equal(got, [r(4n * GIB, 64n * MIB, 0), r(4n * GIB + 256n * MIB - 0x8000n, 0xb000n, 0)]);
});

test('an image across two nodes counts against both; nothing is merged', () => {
  const image = { gpa: 5n * GIB - 32n * MIB, size: 64n * MIB };
  const got = allocateVtl2Ram(nodes(2), image, 128n * MIB);
  assert.equal(got, [
    r(5n * GIB - 64n * MIB, 32n * MIB, 0),
    r(5n * GIB - 32n * MIB, 32n * MIB, 0),
    r(5n * GIB, 32n * MIB, 1),
    r(6n * GIB - 32n * MIB, 32n * MIB, 1),
  ]);
});

test('an image larger than its share zeroes it; the other nodes still take theirs', () => {
  const got = allocateVtl2Ram(nodes(2), { gpa: 4n * GIB, size: 128n * MIB }, 128n * MIB);
  assert.equal(got, [r(4n * GIB, 128n * MIB, 0), r(6n * GIB - 64n * MIB, 64n * MIB, 1)]);
});

test('a share spread over a node\'s ranges is taken from the highest range first', () => {
  const ram = [r(4n * GIB, 64n * MIB, 0), r(5n * GIB, 16n * MIB, 1), r(6n * GIB, 16n * MIB, 1)];
  // 48 MiB / 2 = 24 MiB per node: node 1 takes all of 6 GiB's range, then 8 MiB off 5 GiB's top.
  const got = allocateVtl2Ram(ram, { gpa: 4n * GIB, size: 32n * MIB }, 48n * MIB);
  assert.equal(got, [r(4n * GIB, 32n * MIB, 0), r(5n * GIB + 8n * MIB, 8n * MIB, 1), r(6n * GIB, 16n * MIB, 1)]);
});

const failures: Array<[string, NodeRange[], { gpa: bigint; size: bigint }, bigint | undefined, string]> = [
  // "used file range ... is not reported as ram by host memmap"
  ['image outside RAM', nodes(1), { gpa: 2n * GIB, size: 64n * MIB }, undefined, 'image 0x80000000+0x4000000 is not inside host RAM'],
  ['image running past RAM', nodes(1), { gpa: 5n * GIB - 32n * MIB, size: 64n * MIB }, undefined, 'is not inside host RAM'],
  // "host provided vtl2 ram size ... is smaller than measured size"
  ['memory-size below the image', nodes(1), { gpa: 4n * GIB, size: 64n * MIB }, 32n * MIB, 'memory-size 0x2000000 is smaller than the image (0x4000000)'],
  // "failed to allocate ... for vnode ..., no memory remaining for vnode"
  ['a node without enough RAM', [r(4n * GIB, GIB, 0), r(5n * GIB, 16n * MIB, 1)], { gpa: 4n * GIB, size: 64n * MIB }, 128n * MIB, 'cannot carve 0x3000000 more bytes for vnode 1'],
  // memory_per_node[entry.vnode] is out of bounds when vnodes are not 0..count-1
  ['a vnode past the node count', [r(4n * GIB, GIB, 0), r(5n * GIB, GIB, 2)], { gpa: 4n * GIB, size: 64n * MIB }, undefined, 'has vnode 2, but only 2 nodes exist'],
];
for (const [name, ram, image, size, says] of failures) {
  test(`SHIM_VTL2_MEMORY_INVALID: ${name}`, () => {
    try {
      allocateVtl2Ram(ram, image, size);
    } catch (e) {
      assert.ok(isHclError(e, 'SHIM_VTL2_MEMORY_INVALID'), String(e));
      assert.ok(e.message.includes(says), e.message);
      return;
    }
    assert.unreachable('allocateVtl2Ram accepted it');
  });
}

test('subtractVtl2 leaves VTL0 what the carves do not take', () => {
  const ram = nodes(2);
  const vtl2 = allocateVtl2Ram(ram, { gpa: 4n * GIB + 64n * MIB, size: 64n * MIB }, 128n * MIB);
  assert.equal(subtractVtl2(ram, vtl2), [
    r(4n * GIB, 64n * MIB, 0),
    r(4n * GIB + 128n * MIB, GIB - 128n * MIB, 0),
    r(5n * GIB, GIB - 64n * MIB, 1),
  ]);
});

test.run();
