import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { isHclError } from '../../lib/errors.ts';
import {
  decodeNativeContext, decodeVsmContext, layoutOf, readIgvm, writeIgvm, type IgvmFile, type IgvmFileInput, type IgvmHeader,
} from '../../lib/igvm/index.ts';
import { aarch64File, bytes, page, platform, v2x64File, x64File } from './fixtures.ts';

const samples: Array<[string, () => IgvmFileInput]> = [['v1 x64', x64File], ['v2 x64', v2x64File], ['v2 aarch64', aarch64File]];
const eq = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));
const u32 = (b: Uint8Array, at: number): number => new DataView(b.buffer, b.byteOffset).getUint32(at, true);
const find = (f: IgvmFile, pred: (h: IgvmHeader) => boolean): number => f.headers.findIndex(pred);
const offsetOf = (f: IgvmFile, i: number): number => (f.headers[i] as { fileOffset?: number }).fileOffset ?? -1;

for (const [name, make] of samples) {
  test(`${name}: write → read → write is byte-identical and keeps every header`, () => {
    const input = make();
    const b = writeIgvm(input);
    const f = readIgvm(b);
    assert.ok(eq(writeIgvm(f), b));
    assert.equal(f.headers.map((h) => h.kind), input.headers.map((h) => h.kind));
    assert.equal(f.revision, input.revision);
    f.headers.forEach((h, i) => {
      const want = input.headers[i] as unknown as Record<string, unknown>;
      for (const fl of layoutOf(h.kind).fields) {
        if (fl.name === 'fileOffset' || fl.name === 'sizeBytes') continue;
        assert.equal((h as unknown as Record<string, unknown>)[fl.name], want[fl.name], `${h.kind}.${fl.name}`);
      }
    });
  });
}

test('every header kind is covered by the samples', () => {
  const kinds = new Set(samples.flatMap(([, make]) => make().headers.map((h) => h.kind)));
  for (const k of ['SUPPORTED_PLATFORM', 'GUEST_POLICY', 'RELOCATABLE_REGION', 'PAGE_TABLE_RELOCATION_REGION', 'CORIM_DOCUMENT', 'CORIM_SIGNATURE',
    'CCA_POLICY', 'PARAMETER_AREA', 'PAGE_DATA', 'PARAMETER_INSERT', 'VP_CONTEXT', 'REQUIRED_MEMORY', 'VP_COUNT_PARAMETER', 'SRAT', 'MADT',
    'MMIO_RANGES', 'SNP_ID_BLOCK', 'MEMORY_MAP', 'ERROR_RANGE', 'COMMAND_LINE', 'SLIT', 'PPTT', 'VBS_MEASUREMENT', 'DEVICE_TREE',
    'ENVIRONMENT_INFO_PARAMETER']) assert.ok(kinds.has(k as IgvmHeader['kind']), k);
});

test('fixed header: v1 is 24 bytes, v2 is 32 with architecture and page size; voff is the fixed size', () => {
  for (const [make, size, arch] of [[x64File, 24, undefined], [v2x64File, 32, 0], [aarch64File, 32, 1]] as const) {
    const b = writeIgvm(make());
    assert.is(u32(b, 0), 0x4d564749);
    assert.is(u32(b, 8), size);
    assert.is(u32(b, 16), b.length);
    if (arch !== undefined) { assert.is(u32(b, 24), arch); assert.is(u32(b, 28), 4096); }
  }
});

test('checksum is zlib crc32 of the fixed header (checksum zeroed) and the variable headers', () => {
  for (const [, make] of samples) {
    const b = writeIgvm(make());
    const fixed = b.slice(0, u32(b, 8));
    new DataView(fixed.buffer).setUint32(20, 0, true);
    const vh = b.subarray(u32(b, 8), u32(b, 8) + u32(b, 12));
    assert.is(u32(b, 20), zlibCrc32(Buffer.concat([fixed, vh])) >>> 0);
  }
});

test('identical padded blobs are stored once across header kinds; offsets are absolute', () => {
  const b = writeIgvm(x64File());
  const f = readIgvm(b);
  const page0 = find(f, (h) => h.kind === 'PAGE_DATA' && h.gpa === 0n);
  const area7 = find(f, (h) => h.kind === 'PARAMETER_AREA' && h.parameterAreaIndex === 7);
  assert.is(offsetOf(f, page0), offsetOf(f, area7));
  const short = find(f, (h) => h.kind === 'PAGE_DATA' && h.gpa === 0x1000n);
  const padded = find(f, (h) => h.kind === 'PAGE_DATA' && h.gpa === 0x4000n);
  assert.is(offsetOf(f, short), offsetOf(f, padded));
  const snp = find(f, (h) => h.kind === 'VP_CONTEXT' && h.compatibilityMask === 4);
  const sevEs = find(f, (h) => h.kind === 'VP_CONTEXT' && h.compatibilityMask === 16);
  assert.is(offsetOf(f, snp), offsetOf(f, sevEs));
  const h = f.headers[short];
  assert.ok(h?.kind === 'PAGE_DATA' && eq(b.subarray(offsetOf(f, short), offsetOf(f, short) + 4096), h.data));
  // The data section holds each distinct blob exactly once.
  const blobs = new Map<number, number>();
  f.headers.forEach((x, i) => {
    const d = x.kind === 'PARAMETER_AREA' ? x.initialData : 'data' in x ? x.data : undefined;
    if (d !== undefined && offsetOf(f, i) > 0) blobs.set(offsetOf(f, i), d.length);
  });
  assert.is([...blobs.values()].reduce((n, l) => n + l, 0), b.length - f.dataStart);
});

test('empty page data and empty parameter area data get file offset 0', () => {
  const f = readIgvm(writeIgvm(x64File()));
  const zeroPage = find(f, (h) => h.kind === 'PAGE_DATA' && h.gpa === 0x2000n);
  const area0 = find(f, (h) => h.kind === 'PARAMETER_AREA' && h.parameterAreaIndex === 0);
  assert.is(offsetOf(f, zeroPage), 0);
  assert.is(offsetOf(f, area0), 0);
  assert.is((f.headers[zeroPage] as { data: Uint8Array }).data.length, 0);
});

test('page data is padded to 4096 and parameter initial data to number_of_bytes', () => {
  const f = readIgvm(writeIgvm(aarch64File()));
  const area = f.headers.find((h) => h.kind === 'PARAMETER_AREA');
  assert.ok(area?.kind === 'PARAMETER_AREA');
  assert.is(area.initialData.length, 4096);
  assert.ok(area.initialData.subarray(0, 10).every((x) => x === 1) && area.initialData.subarray(10).every((x) => x === 0));
  const x = readIgvm(writeIgvm(x64File()));
  const p = x.headers.find((h) => h.kind === 'PAGE_DATA' && h.gpa === 0x1000n);
  assert.ok(p?.kind === 'PAGE_DATA' && p.data.length === 4096 && p.data[99] === 0x11 && p.data[100] === 0);
});

test('VP_CONTEXT length is 20 and its body is zero-padded to 24; blobs are not aligned', () => {
  const b = writeIgvm(v2x64File());
  const f = readIgvm(b);
  const i = find(f, (h) => h.kind === 'VP_CONTEXT');
  const at = f.headerOffsets[i] ?? 0;
  assert.is(u32(b, at), 0x304);
  assert.is(u32(b, at + 4), 20);
  assert.equal([...b.subarray(at + 28, at + 32)], [0, 0, 0, 0]);
  assert.is(at + 32, f.dataStart);
  const x = readIgvm(writeIgvm(x64File()));
  const vsm = find(x, (h) => h.kind === 'VP_CONTEXT' && h.compatibilityMask === 2);
  const snp = find(x, (h) => h.kind === 'VP_CONTEXT' && h.compatibilityMask === 4);
  assert.is(offsetOf(x, snp), offsetOf(x, vsm) + 68);
  assert.is(offsetOf(x, snp) % 8, (offsetOf(x, vsm) + 4) % 8);
});

test('context helpers decode what the writer stored', () => {
  const f = readIgvm(writeIgvm(x64File()));
  const native = f.headers.find((h) => h.kind === 'VP_CONTEXT' && h.compatibilityMask === 1);
  const vsm = f.headers.find((h) => h.kind === 'VP_CONTEXT' && h.compatibilityMask === 2);
  assert.ok(native?.kind === 'VP_CONTEXT' && vsm?.kind === 'VP_CONTEXT');
  const ctx = decodeNativeContext(native.data);
  assert.is(ctx.rip, 0xfff0n);
  assert.is(ctx.cr0, 0x11n);
  assert.is(ctx.rax, 0n);
  assert.equal(decodeVsmContext(vsm.data).map((r) => [r.vtl, r.name, r.value[0]]), [[2, 0x20010, 7], [2, 0x40002, 1]]);
});

const refusals: Array<[string, IgvmFileInput, string]> = [
  ['page data longer than 4096', { revision: { version: 1 }, headers: [platform(1, 1), page(0n, 1, bytes(4097, 1))] }, 'more than 4096'],
  ['initial data longer than the area', { revision: { version: 1 }, headers: [platform(1, 1), page(0n, 1, bytes(1, 1)),
    { kind: 'PARAMETER_AREA', numberOfBytes: 0x1000n, parameterAreaIndex: 0, initialData: bytes(4097, 1) }] }, 'longer than its 4096 bytes'],
  ['an empty data section', { revision: { version: 1 }, headers: [platform(1, 1), page(0n, 1, bytes(0))] }, 'IGVM_INVALID_FIXED_HEADER'],
  ['a file the reader rejects', { revision: { version: 1 }, headers: [platform(3, 1), page(0n, 1, bytes(1, 1))] }, 'IGVM_INVALID_BINARY_PLATFORM_HEADER'],
];

for (const [name, input, msg] of refusals) {
  test(`refuses ${name} with IGVM_WRITE_INVALID`, () => {
    try {
      writeIgvm(input);
      assert.unreachable('written');
    } catch (e) {
      assert.ok(isHclError(e, 'IGVM_WRITE_INVALID'), String(e));
      assert.ok((e as Error).message.includes(msg), (e as Error).message);
    }
  });
}

test('headers given out of section order are written in section order, stable within a section', () => {
  const input = x64File();
  const rank = (h: IgvmHeader): number => (layoutOf(h.kind).type <= 0x100 ? 0 : layoutOf(h.kind).type <= 0x200 ? 1 : 2);
  const of = (r: number): IgvmHeader[] => input.headers.filter((h) => rank(h) === r);
  const shuffled: IgvmFileInput = { revision: input.revision, headers: [...of(2), ...of(1), ...of(0).reverse()] };
  const f = readIgvm(writeIgvm(shuffled));
  assert.equal(f.headers.map(rank), [...f.headers.map(rank)].sort());
  assert.is(f.headers[0]?.kind === 'SUPPORTED_PLATFORM' && f.headers[0].compatibilityMask, 32);
});

test('reads a view with a non-zero byteOffset into a larger buffer', () => {
  const b = writeIgvm(x64File());
  const inner = new Uint8Array(b.length + 11);
  inner.set(b, 5);
  const view = inner.subarray(5, 5 + b.length);
  assert.ok(eq(writeIgvm(readIgvm(view)), b));
});

test('a small file matches a layout built by hand from the reference tables', () => {
  const pageBytes = bytes(4096, 0x42);
  const ctx = bytes(4 + 32);
  new DataView(ctx.buffer).setUint32(0, 1, true);
  ctx[4] = 2;
  new DataView(ctx.buffer).setUint32(5, 0x20010, true); // HvX64RegisterName::Rip, a name the crate converts
  const b = writeIgvm({ revision: { version: 1 }, headers: [
    platform(1, 1, 2), page(0x7000n, 1, pageBytes, 0, 2),
    { kind: 'VP_CONTEXT', gpa: 0n, compatibilityMask: 1, vpIndex: 0, reserved: 0, data: ctx },
  ] });
  const vh = 8 + 16 + 8 + 24 + 8 + 24;
  const want = new Uint8Array(24 + vh + 4096 + ctx.length);
  const v = new DataView(want.buffer);
  v.setUint32(0, 0x4d564749, true); v.setUint32(4, 1, true); v.setUint32(8, 24, true); v.setUint32(12, vh, true); v.setUint32(16, want.length, true);
  let at = 24;
  v.setUint32(at, 0x001, true); v.setUint32(at + 4, 16, true);
  v.setUint32(at + 8, 1, true); v.setUint8(at + 12, 2); v.setUint8(at + 13, 1); v.setUint16(at + 14, 1, true);
  at += 24;
  v.setUint32(at, 0x302, true); v.setUint32(at + 4, 24, true);
  v.setBigUint64(at + 8, 0x7000n, true); v.setUint32(at + 16, 1, true); v.setUint32(at + 20, 24 + vh, true); v.setUint32(at + 24, 2, true);
  at += 32;
  v.setUint32(at, 0x304, true); v.setUint32(at + 4, 20, true);
  v.setUint32(at + 16, 1, true); v.setUint32(at + 20, 24 + vh + 4096, true);
  want.set(pageBytes, 24 + vh);
  want.set(ctx, 24 + vh + 4096);
  v.setUint32(20, zlibCrc32(want.subarray(0, 24 + vh)) >>> 0, true);
  assert.ok(eq(b, want));
});

test.run();
