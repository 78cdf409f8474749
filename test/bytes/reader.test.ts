import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ByteReader, ByteWriter, crc32 } from '../../lib/bytes/index.ts';
import { isHclError } from '../../lib/errors.ts';

test('writer and reader agree on every primitive, little-endian', () => {
  const b = new ByteWriter(4).u8(0xab).u16(0x1234).u32(0xdeadbeef).u64(0x0102030405060708n).i64(-2n).u32be(0x11223344).finish();
  assert.equal([...b.subarray(0, 3)], [0xab, 0x34, 0x12]);
  const r = new ByteReader(b);
  assert.is(r.u8(), 0xab);
  assert.is(r.u16(), 0x1234);
  assert.is(r.u32(), 0xdeadbeef);
  assert.is(r.u64(), 0x0102030405060708n);
  assert.is(r.i64(), -2n);
  assert.is(r.u32be(), 0x11223344);
  assert.is(r.remaining, 0);
});

test('a read past the end is an HclError with the given code and context', () => {
  const r = new ByteReader(new Uint8Array(6), 'IGVM header', 'IGVM_TRUNCATED');
  r.u32();
  try {
    r.u32();
    assert.unreachable('read past end');
  } catch (e) {
    assert.ok(isHclError(e, 'IGVM_TRUNCATED'));
    assert.is((e as Error).message, 'cannot decode IGVM header at 0x4: premature end of data (need 4 bytes, have 2)');
  }
});

test('slice, sub and seek are checked against the view', () => {
  const r = new ByteReader(new Uint8Array([1, 2, 3, 4]));
  assert.equal([...r.slice(1, 2)], [2, 3]);
  assert.throws(() => r.slice(3, 2), (e: unknown) => isHclError(e, 'BYTES_OUT_OF_RANGE'));
  assert.throws(() => r.seek(5), (e: unknown) => isHclError(e, 'BYTES_OUT_OF_RANGE'));
  assert.is(r.sub(2, 2).u8(), 3);
});

test('cstring stops at NUL and fails without one', () => {
  const r = new ByteReader(new TextEncoder().encode('ab\0cd'));
  assert.is(r.cstring(), 'ab');
  assert.is(r.pos, 3);
  assert.throws(() => r.cstring(), (e: unknown) => isHclError(e, 'BYTES_OUT_OF_RANGE'));
});

test('writer align pads with zeros and patch rewrites earlier fields', () => {
  const w = new ByteWriter().u8(1).align(8).u32(0).patchU32(8, 7);
  const b = w.finish();
  assert.is(b.length, 12);
  assert.equal([...b.subarray(1, 8)], [0, 0, 0, 0, 0, 0, 0]);
  assert.is(new ByteReader(b).seek(8).u32(), 7);
  assert.throws(() => new ByteWriter().u8(256), TypeError);
});

test('crc32 is zlib CRC-32', () => {
  assert.is(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
});

test('appending bytes across a buffer growth keeps every byte', () => {
  const w = new ByteWriter(16);
  const chunk = Uint8Array.from({ length: 13 }, (_, i) => i + 1);
  for (let i = 0; i < 10; i++) w.bytes(chunk);
  const b = w.finish();
  assert.is(b.length, 130);
  for (let i = 0; i < 10; i++) assert.equal([...b.subarray(i * 13, i * 13 + 13)], [...chunk]);
});

test.run();
