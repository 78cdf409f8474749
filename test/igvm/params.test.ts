import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isHclError, type HclErrorCode } from '../../lib/errors.ts';
import {
  decodeCommandLine, decodeMemoryMap, decodeMmioRanges, encodeCommandLine, encodeEnvironmentInfo, encodeMemoryMap, encodeMmioRanges,
  encodeVpCount, headerMask, headersFor, ParameterAreas, PlatformType, readIgvm, selectPlatform, writeIgvm,
} from '../../lib/igvm/index.ts';
import { x64File } from './fixtures.ts';

function throwsCode(fn: () => unknown, code: HclErrorCode, msg: string): void {
  try {
    fn();
    assert.unreachable('no error');
  } catch (e) {
    assert.ok(isHclError(e, code), String(e));
    assert.ok((e as Error).message.includes(msg), (e as Error).message);
  }
}

test('selectPlatform finds the mask of a platform type; headersFor keeps that bit and mask-less headers', () => {
  const f = readIgvm(writeIgvm(x64File()));
  const mask = selectPlatform(f, PlatformType.SEV_SNP);
  assert.is(mask, 4);
  const hs = headersFor(f, mask);
  assert.ok(hs.length > 0);
  for (const h of hs) {
    const m = headerMask(h);
    assert.ok(h.kind !== 'SUPPORTED_PLATFORM' && (m === undefined || (m & 4) !== 0), h.kind);
  }
  const left = f.headers.filter((h) => h.kind !== 'SUPPORTED_PLATFORM' && !hs.includes(h));
  assert.ok(left.every((h) => ((headerMask(h) ?? 4) & 4) === 0));
  throwsCode(() => selectPlatform({ revision: { version: 1 }, headers: [] }, PlatformType.TDX), 'IGVM_NO_PLATFORM_FOR_ISOLATION', 'no TDX platform');
});

test('parameter areas: declare, write, insert, then the index is dead', () => {
  const a = new ParameterAreas();
  a.declare(0, 4096, new Uint8Array([9, 9]));
  a.write(0, 1, new Uint8Array([1, 2, 3]));
  assert.is(a.size(0), 4096);
  const bytes = a.insert(0);
  assert.equal([...bytes.subarray(0, 5)], [9, 1, 2, 3, 0]);
  throwsCode(() => a.write(0, 0, new Uint8Array(1)), 'IGVM_PARAMETER_AREA_INSERTED', 'already inserted');
  throwsCode(() => a.insert(0), 'IGVM_PARAMETER_AREA_INSERTED', 'parameter area 0');
  throwsCode(() => a.declare(0, 4096), 'IGVM_INVALID_PARAMETER_AREA_INDEX', 'declared twice');
  throwsCode(() => a.write(5, 0, new Uint8Array(1)), 'IGVM_INVALID_PARAMETER_AREA_INDEX', 'not declared');
  a.declare(1, 4096);
  throwsCode(() => a.write(1, 4090, new Uint8Array(7)), 'IGVM_PARAMETER_DOES_NOT_FIT', '7 bytes at offset 4090 do not fit in 4096');
  throwsCode(() => a.declare(2, 16, new Uint8Array(17)), 'IGVM_PARAMETER_DOES_NOT_FIT', 'exceeds 16');
});

test('memory map entries are 24 bytes, sorted, and a 0-page entry ends the map', () => {
  const entries = [
    { startingGpaPageNumber: 0x100n, numberOfPages: 0x10n, entryType: 3, flags: 0 },
    { startingGpaPageNumber: 0n, numberOfPages: 0xa0n, entryType: 0, flags: 1 },
  ];
  const b = encodeMemoryMap(entries);
  assert.is(b.length, 48);
  const v = new DataView(b.buffer);
  assert.is(v.getBigUint64(0, true), 0n);
  assert.is(v.getUint16(16, true), 0);
  assert.is(v.getUint16(18, true), 1);
  assert.is(v.getBigUint64(24 + 8, true), 0x10n);
  const area = new Uint8Array(4096);
  area.set(b);
  assert.equal(decodeMemoryMap(area), [entries[1], entries[0]]);
});

test('mmio ranges, vp count, environment info and command line payloads', () => {
  const r = [{ startingGpaPageNumber: 0xf8000n, numberOfPages: 0x8000n }, { startingGpaPageNumber: 0x1000000n, numberOfPages: 0x100n }];
  const m = encodeMmioRanges(r);
  assert.is(m.length, 32);
  assert.equal(decodeMmioRanges(m), r);
  throwsCode(() => encodeMmioRanges([...r, ...r]), 'IGVM_PARAMETER_DOES_NOT_FIT', '4 given');
  assert.equal([...encodeVpCount(0x104)], [4, 1, 0, 0]);
  assert.equal([...encodeEnvironmentInfo({ memoryIsShared: true })], [1, 0, 0, 0]);
  const c = encodeCommandLine('console=ttyS0 quiet');
  assert.is(c.at(-1), 0);
  assert.is(decodeCommandLine(c), 'console=ttyS0 quiet');
  throwsCode(() => encodeCommandLine('naïve'), 'IGVM_LOAD_INVALID', 'ASCII');
});

test.run();
