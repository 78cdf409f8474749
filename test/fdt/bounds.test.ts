// Decode cost of hostile blobs, checked by what is allocated (ArrayBuffers, objects), not by time.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isHclError } from '../../lib/errors.ts';
import { readFdt } from '../../lib/fdt/index.ts';

/** A version-17 DTB whose root holds `props` properties of `len` bytes (one name) and `nodes` empty children. */
function blob(props: number, len: number, nodes: number): Uint8Array {
  const per = 12 + ((len + 3) & ~3);
  const structSize = 8 + props * per + nodes * 12 + 8;
  const total = 56 + structSize + 2;
  const b = new Uint8Array(total);
  const v = new DataView(b.buffer);
  [0xd00dfeed, total, 56, 56 + structSize, 40, 17, 16, 0, 2, structSize].forEach((x, i) => v.setUint32(4 * i, x));
  let p = 56;
  const u32 = (x: number): void => { v.setUint32(p, x); p += 4; };
  u32(1); u32(0);
  for (let i = 0; i < props; i++) { u32(3); u32(len); u32(0); b.fill(i & 0xff, p, p + len); p += (len + 3) & ~3; }
  for (let i = 0; i < nodes; i++) { u32(1); b[p] = 0x61 + (i % 26); p += 4; u32(2); }
  u32(2); u32(9);
  b[56 + structSize] = 0x61;
  return b;
}

test('property values are views of the blob: 200 000 properties allocate no ArrayBuffer of their own', () => {
  const b = blob(100_000, 0, 0);
  const c = blob(100_000, 8, 0);
  for (const input of [b, c]) {
    const t = readFdt(input);
    assert.is(t.root.properties.length, 100_000);
    const buffers = new Set(t.root.properties.map((p) => p.value.buffer));
    // Empty values share one zero-length view; the others all view the input.
    assert.ok(buffers.size === 1 && (buffers.has(input.buffer) || t.root.properties.every((p) => p.value.length === 0)), `${buffers.size} buffers`);
  }
  const t = readFdt(c);
  assert.equal([...t.root.properties[3]!.value], [3, 3, 3, 3, 3, 3, 3, 3]);
});

test('50 000 empty one-letter nodes and a few properties decode in order, each node with its own empty lists', () => {
  const t = readFdt(blob(10, 4, 50_000));
  assert.is(t.root.children.length, 50_000);
  assert.ok(t.root.children.every((n, i) => n.properties.length === 0 && n.children.length === 0 && n.name === String.fromCharCode(0x61 + (i % 26))));
  // Lists are not shared between nodes: a caller may extend one node's tree without touching another.
  assert.is.not(t.root.children[0]!.children, t.root.children[1]!.children);
  assert.is(t.root.properties.length, 10);
});

test('the magic is checked before any other header field', () => {
  // Bad magic with an impossible version and a totalsize past the end: the magic is what is reported.
  const b = blob(1, 0, 0);
  const v = new DataView(b.buffer);
  v.setUint32(0, 0x12345678);
  v.setUint32(4, 0xffff_ffff);
  v.setUint32(20, 99);
  try {
    readFdt(b);
    assert.unreachable('parsed');
  } catch (e) {
    if (!isHclError(e)) throw e;
    assert.is(e.code, 'FDT_BAD_MAGIC', e.message);
  }
  // Four bytes are enough to refuse on the magic.
  assert.throws(() => readFdt(new Uint8Array([1, 2, 3, 4])), (e: unknown) => isHclError(e, 'FDT_BAD_MAGIC'));
});

test.run();
