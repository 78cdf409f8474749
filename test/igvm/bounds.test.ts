// Decode cost of an IGVM file with many headers on one data page (issue 12 point 11), checked by
// what is allocated, not by time: the decoded model and its JSON share the page.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isHclError } from '../../lib/errors.ts';
import { PlatformType, igvmToJson, readIgvm, writeIgvm, type IgvmHeader } from '../../lib/igvm/index.ts';
import { bytes, page, platform } from './fixtures.ts';

const N = 100_000;
const data = bytes(4096, 0xab);
const headers: IgvmHeader[] = [platform(1, PlatformType.VSM_ISOLATION)];
for (let i = 0; i < N; i++) headers.push(page(BigInt(i) * 4096n, 1, data));
const file = writeIgvm({ revision: { version: 1 }, headers });

test('100 000 page headers on one data page decode to views of the file, not 100 000 copies', () => {
  assert.is(file.length - (24 + 24 + N * 32), 4096); // fixed header, platform, page headers: the page is stored once
  const f = readIgvm(file);
  const pages = f.headers.filter((h) => h.kind === 'PAGE_DATA');
  assert.is(pages.length, N);
  const buffers = new Set(pages.map((h) => h.data.buffer));
  assert.equal([...buffers], [file.buffer]);
  const offsets = new Set(pages.map((h) => h.data.byteOffset));
  assert.is(offsets.size, 1);
  assert.is(pages[N - 1]?.data[4095], 0xab);
});

test('the JSON form shares one blob (one hex string) among the headers naming the same data', () => {
  const json = igvmToJson(readIgvm(file), file);
  const blobs = new Set(json.headers.filter((h) => h['kind'] === 'PAGE_DATA').map((h) => h['data']));
  assert.is(blobs.size, 1);
  const [blob] = blobs as Set<{ hex: string; size: number }>;
  assert.is(blob?.size, 4096);
  assert.is(blob?.hex, 'ab'.repeat(4096));
});

test('the magic is judged before the size: four bytes that are not IGVM say so', () => {
  for (const b of [new Uint8Array([0x7f, 0x45, 0x4c, 0x46]), new TextEncoder().encode('not an igvm file, but long enough to hold a fixed header')]) {
    assert.throws(() => readIgvm(b), (e: unknown) => isHclError(e, 'IGVM_INVALID_FIXED_HEADER') && e.message.includes('is not "IGVM"'));
  }
  assert.throws(() => readIgvm(new Uint8Array([0x49, 0x47, 0x56, 0x4d])), (e: unknown) => isHclError(e, 'IGVM_INVALID_FIXED_HEADER') && e.message.includes('need at least 24'));
});

test.run();
