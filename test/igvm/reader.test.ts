import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isHclError, type HclErrorCode } from '../../lib/errors.ts';
import { encodeNativeContext, encodeVsmContext, fixChecksum, readIgvm, writeIgvm } from '../../lib/igvm/index.ts';
import type { IgvmFileInput, IgvmHeader, IgvmRevision } from '../../lib/igvm/index.ts';
import { bytes, page, platform, vmsa, vsmContext } from './fixtures.ts';

const V1: IgvmRevision = { version: 1 };
const ARM: IgvmRevision = { version: 2, arch: 'aarch64' };
/** A file whose data section is non-empty: the given headers plus one data page for mask 1. */
const file = (headers: IgvmHeader[], revision: IgvmRevision = V1): IgvmFileInput => ({ revision, headers: [...headers, page(0x1000n, 1, bytes(4096, 1))] });
const raw = (headers: IgvmHeader[], revision: IgvmRevision = V1): Uint8Array => writeIgvm(file(headers, revision), { unchecked: true });
const VSM = platform(1, 1, 2);

/** Writes the file, then overwrites `value` (u8/u16/u32 by width) at a body offset of header `index`. */
function patched(headers: IgvmHeader[], index: number, at: number, value: number, width: 1 | 2 | 4 = 4, fix = true): Uint8Array {
  const b = raw(headers);
  const off = readIgvm(b).headerOffsets[index] ?? 0;
  const v = new DataView(b.buffer);
  if (width === 1) v.setUint8(off + at, value);
  else if (width === 2) v.setUint16(off + at, value, true);
  else v.setUint32(off + at, value, true);
  if (fix) fixChecksum(b);
  return b;
}

function fixedPatch(at: number, value: number, fix = true, base = raw([VSM])): Uint8Array {
  new DataView(base.buffer).setUint32(at, value, true);
  if (fix) fixChecksum(base);
  return base;
}

const relocation = (over: Partial<Record<string, unknown>> = {}): IgvmHeader => ({
  kind: 'RELOCATABLE_REGION', compatibilityMask: 1, vpIndex: 0, vtl: 0, flags: 0, relocationAlignment: 0x200000n,
  relocationRegionGpa: 0x200000n, relocationRegionSize: 0x200000n, minimumRelocationGpa: 0n, maximumRelocationGpa: 0x10000000n, ...over,
} as IgvmHeader);
const pageTable = (over: Partial<Record<string, unknown>> = {}): IgvmHeader => ({
  kind: 'PAGE_TABLE_RELOCATION_REGION', compatibilityMask: 1, vpIndex: 0, vtl: 0, gpa: 0x10000n, size: 0x4000n, usedSize: 0x1000n, ...over,
} as IgvmHeader);
const area = (index: number): IgvmHeader => ({ kind: 'PARAMETER_AREA', numberOfBytes: 0x1000n, parameterAreaIndex: index, initialData: bytes(0) });
const insert = (index: number, gpa = 0x40000n): IgvmHeader => ({ kind: 'PARAMETER_INSERT', gpa, compatibilityMask: 1, parameterAreaIndex: index });
const vpCtx = (mask: number, data: Uint8Array, vpIndex = 0): IgvmHeader => ({ kind: 'VP_CONTEXT', gpa: 0n, compatibilityMask: mask, vpIndex, reserved: 0, data });

/** A platform header followed by 4 stray bytes inside the variable-header section. */
function trailingPrefix(): Uint8Array {
  const b = new Uint8Array(24 + 24 + 8);
  b.set(writeIgvm({ revision: V1, headers: [VSM] }, { unchecked: true }));
  const v = new DataView(b.buffer);
  v.setUint32(12, 24 + 4, true);
  v.setUint32(16, b.length, true);
  fixChecksum(b);
  return b;
}

interface Case { name: string; bytes: () => Uint8Array; code: HclErrorCode; inner?: HclErrorCode; msg: string }

const cases: Case[] = [
  { name: 'short file', bytes: () => raw([VSM]).subarray(0, 10), code: 'IGVM_INVALID_FIXED_HEADER', msg: 'file is 10 bytes, need at least 24' },
  { name: 'short non-IGVM file', bytes: () => bytes(10), code: 'IGVM_INVALID_FIXED_HEADER', msg: 'magic 0x0 is not "IGVM"' },
  { name: 'bad magic', bytes: () => fixedPatch(0, 0x12345678), code: 'IGVM_INVALID_FIXED_HEADER', msg: 'magic 0x12345678' },
  { name: 'version 3', bytes: () => fixedPatch(4, 3), code: 'IGVM_INVALID_FIXED_HEADER', msg: 'format version 3' },
  { name: 'v2 unknown architecture', bytes: () => fixedPatch(24, 7, true, raw([VSM], ARM)), code: 'IGVM_INVALID_FIXED_HEADER', msg: 'architecture 7' },
  { name: 'v2 page size', bytes: () => fixedPatch(28, 0x2000, true, raw([VSM], ARM)), code: 'IGVM_UNSUPPORTED_PAGE_SIZE', msg: 'page size 0x2000' },
  { name: 'total size', bytes: () => fixedPatch(16, 5), code: 'IGVM_INVALID_FIXED_HEADER', msg: 'does not match file length' },
  { name: 'variable header offset past end', bytes: () => fixedPatch(8, 0x100000), code: 'IGVM_INVALID_FIXED_HEADER', msg: 'past the end' },
  { name: 'no file data', bytes: () => fixedPatch(12, 0x100000), code: 'IGVM_INVALID_FIXED_HEADER', msg: 'leaving no file data' },
  { name: 'checksum', bytes: () => fixedPatch(20, 1, false), code: 'IGVM_INVALID_CHECKSUM', msg: 'checksum 0x1 does not match' },
  { name: 'type in a gap', bytes: () => patched([VSM], 1, 0, 0x201), code: 'IGVM_INVALID_BINARY_VARIABLE_HEADER_SECTION', msg: 'is in no section' },
  { name: 'optional bit', bytes: () => patched([VSM], 1, 0, 0x80000302), code: 'IGVM_INVALID_BINARY_VARIABLE_HEADER_SECTION', msg: 'is in no section' },
  { name: 'platform after directive', bytes: () => patched([VSM, area(0)], 2, 0, 0x001), code: 'IGVM_INVALID_BINARY_VARIABLE_HEADER_SECTION', msg: 'comes after a directive header' },
  { name: 'section ends mid prefix', bytes: trailingPrefix, code: 'IGVM_INVALID_BINARY_VARIABLE_HEADER_SECTION', msg: '4 bytes left, need 8' },
  { name: 'platform length', bytes: () => patched([VSM], 0, 4, 24), code: 'IGVM_INVALID_BINARY_PLATFORM_HEADER', inner: 'IGVM_INVALID_VARIABLE_HEADER_TYPE', msg: 'InvalidVariableHeaderType' },
  { name: 'platform mask', bytes: () => raw([platform(3, 1)]), code: 'IGVM_INVALID_BINARY_PLATFORM_HEADER', inner: 'IGVM_INVALID_COMPATIBILITY_MASK', msg: 'exactly one bit' },
  { name: 'platform vtl', bytes: () => raw([platform(1, 1, 1)]), code: 'IGVM_INVALID_BINARY_PLATFORM_HEADER', inner: 'IGVM_INVALID_VTL', msg: 'highest vtl 1' },
  { name: 'platform type', bytes: () => raw([platform(1, 9)]), code: 'IGVM_INVALID_BINARY_PLATFORM_HEADER', inner: 'IGVM_INVALID_PLATFORM_TYPE', msg: 'platform type 9' },
  { name: 'platform version', bytes: () => raw([{ ...platform(1, 1), platformVersion: 2 } as IgvmHeader]), code: 'IGVM_INVALID_BINARY_PLATFORM_HEADER', inner: 'IGVM_INVALID_PLATFORM_VERSION', msg: 'version 2' },
  { name: 'shared gpa boundary', bytes: () => raw([{ ...platform(1, 0), sharedGpaBoundary: 1n } as IgvmHeader]), code: 'IGVM_INVALID_BINARY_PLATFORM_HEADER', inner: 'IGVM_INVALID_SHARED_GPA_BOUNDARY', msg: 'shared gpa boundary 0x1' },
  { name: 'guest policy reserved', bytes: () => patched([VSM, { kind: 'GUEST_POLICY', policy: 0n, compatibilityMask: 1 }], 1, 8 + 12, 1), code: 'IGVM_INVALID_BINARY_INITIALIZATION_HEADER', inner: 'IGVM_RESERVED_NOT_ZERO', msg: 'ReservedNotZero' },
  { name: 'unknown init type', bytes: () => patched([VSM, { kind: 'GUEST_POLICY', policy: 0n, compatibilityMask: 1 }], 1, 0, 0x1ff), code: 'IGVM_INVALID_BINARY_INITIALIZATION_HEADER', inner: 'IGVM_INVALID_VARIABLE_HEADER_TYPE', msg: 'type 0x1ff' },
  { name: 'relocation vtl', bytes: () => raw([VSM, relocation({ vtl: 3 })]), code: 'IGVM_INVALID_BINARY_INITIALIZATION_HEADER', inner: 'IGVM_INVALID_VTL', msg: 'vtl 3' },
  { name: 'relocation size', bytes: () => raw([VSM, relocation({ relocationRegionSize: 0x1800n })]), code: 'IGVM_INVALID_BINARY_INITIALIZATION_HEADER', inner: 'IGVM_RELOCATION_SIZE', msg: 'size 0x1800' },
  { name: 'relocation alignment 0', bytes: () => raw([VSM, relocation({ relocationAlignment: 0n })]), code: 'IGVM_INVALID_BINARY_INITIALIZATION_HEADER', inner: 'IGVM_RELOCATION_ALIGNMENT', msg: 'alignment 0x0' },
  { name: 'relocation address', bytes: () => raw([VSM, relocation({ minimumRelocationGpa: 0x1000n })]), code: 'IGVM_INVALID_BINARY_INITIALIZATION_HEADER', inner: 'IGVM_RELOCATION_ADDRESS', msg: 'minimum gpa 0x1000' },
  { name: 'page table gpa', bytes: () => raw([VSM, pageTable({ gpa: 0x10010n })]), code: 'IGVM_INVALID_BINARY_INITIALIZATION_HEADER', inner: 'IGVM_UNALIGNED_ADDRESS', msg: 'gpa 0x10010' },
  { name: 'page table size', bytes: () => raw([VSM, pageTable({ size: 0x4100n })]), code: 'IGVM_INVALID_BINARY_INITIALIZATION_HEADER', inner: 'IGVM_UNALIGNED_SIZE', msg: 'size 0x4100' },
  { name: 'page table used > size', bytes: () => raw([VSM, pageTable({ usedSize: 0x5000n })]), code: 'IGVM_INVALID_BINARY_INITIALIZATION_HEADER', inner: 'IGVM_INVALID_PAGE_TABLE_REGION_SIZE', msg: 'used size 0x5000' },
  { name: 'cca ones/zeroes', bytes: () => raw([platform(1, 6), { kind: 'CCA_POLICY', compatibilityMask: 1, requiredZeroes: 3n, requiredOnes: 1n, hashAlgorithm: 0, lfaPolicy: 0 }], ARM), code: 'IGVM_INVALID_BINARY_INITIALIZATION_HEADER', inner: 'IGVM_INVALID_ONES_ZEROES_MASKS', msg: 'share bits' },
  { name: 'page data offset before data section', bytes: () => patched([VSM], 1, 8 + 12, 8), code: 'IGVM_INVALID_BINARY_DIRECTIVE_HEADER', inner: 'IGVM_INVALID_DATA_SIZE', msg: 'outside the data section' },
  { name: 'page data past end', bytes: () => patched([VSM], 1, 8 + 12, 0x100000), code: 'IGVM_INVALID_BINARY_DIRECTIVE_HEADER', inner: 'IGVM_INVALID_DATA_SIZE', msg: 'InvalidDataSize' },
  { name: 'page data reserved', bytes: () => patched([VSM], 1, 8 + 22, 1, 2), code: 'IGVM_INVALID_BINARY_DIRECTIVE_HEADER', inner: 'IGVM_RESERVED_NOT_ZERO', msg: 'body offset 22' },
  { name: 'page data gpa', bytes: () => raw([VSM, page(0x10n, 1, bytes(0))]), code: 'IGVM_INVALID_BINARY_DIRECTIVE_HEADER', inner: 'IGVM_UNALIGNED_ADDRESS', msg: 'page data gpa 0x10' },
  { name: 'page data type', bytes: () => raw([VSM, page(0n, 1, bytes(0), 5)]), code: 'IGVM_INVALID_BINARY_DIRECTIVE_HEADER', inner: 'IGVM_INVALID_PAGE_DATA_TYPE', msg: 'type 5' },
  { name: 'parameter area size', bytes: () => raw([VSM, { ...area(0), numberOfBytes: 0x100n } as IgvmHeader]), code: 'IGVM_INVALID_BINARY_DIRECTIVE_HEADER', inner: 'IGVM_UNALIGNED_SIZE', msg: 'size 0x100' },
  { name: 'section ends mid body', bytes: () => fixedPatch(12, 24 + 16), code: 'IGVM_INVALID_BINARY_DIRECTIVE_HEADER', inner: 'IGVM_INVALID_VARIABLE_HEADER_SIZE', msg: 'needs 24 bytes, section has 8' },
  { name: 'reserved type 0x306', bytes: () => patched([VSM], 1, 0, 0x306), code: 'IGVM_INVALID_BINARY_DIRECTIVE_HEADER', inner: 'IGVM_INVALID_VARIABLE_HEADER_TYPE', msg: 'type 0x306' },
  { name: 'vp context on two platforms', bytes: () => raw([VSM, platform(2, 0), vpCtx(3, bytes(4096))]), code: 'IGVM_INVALID_BINARY_DIRECTIVE_HEADER', inner: 'IGVM_INVALID_VP_CONTEXT_PLATFORM_TYPE', msg: 'not exactly one platform' },
  { name: 'vp context on tdx', bytes: () => raw([platform(1, 3), vpCtx(1, bytes(4096))]), code: 'IGVM_INVALID_BINARY_DIRECTIVE_HEADER', inner: 'IGVM_INVALID_VP_CONTEXT_PLATFORM_TYPE', msg: 'platform type 3' },
  { name: 'native context tail', bytes: () => raw([platform(1, 0), vpCtx(1, encodeNativeContext({}).fill(1, 300, 301))]), code: 'IGVM_INVALID_BINARY_DIRECTIVE_HEADER', inner: 'IGVM_INVALID_CONTEXT', msg: 'not zero' },
  { name: 'snp context offset 0', bytes: () => patched([platform(1, 2), vpCtx(1, vmsa(3))], 1, 8 + 12, 0), code: 'IGVM_INVALID_BINARY_DIRECTIVE_HEADER', inner: 'IGVM_INVALID_DATA_SIZE', msg: 'outside the data section' },
  { name: 'snp context gpa', bytes: () => raw([platform(1, 2), { ...vpCtx(1, vmsa(3)), gpa: 0x123n } as IgvmHeader]), code: 'IGVM_INVALID_BINARY_DIRECTIVE_HEADER', inner: 'IGVM_UNALIGNED_ADDRESS', msg: 'vp context gpa 0x123' },
  { name: 'vsm vp_index', bytes: () => raw([VSM, vpCtx(1, encodeVsmContext([{ vtl: 0, name: 1, value: bytes(16) }]), 1)]), code: 'IGVM_INVALID_BINARY_DIRECTIVE_HEADER', inner: 'IGVM_INVALID_CONTEXT', msg: 'vp_index 1 must be 0' },
  { name: 'vsm mixed vtls', bytes: () => raw([VSM, vpCtx(1, encodeVsmContext([{ vtl: 0, name: 1, value: bytes(16) }, { vtl: 2, name: 2, value: bytes(16) }]))]), code: 'IGVM_INVALID_BINARY_DIRECTIVE_HEADER', inner: 'IGVM_INVALID_CONTEXT', msg: 'register 1 has vtl 2' },
  { name: 'vsm no registers', bytes: () => raw([VSM, vpCtx(1, encodeVsmContext([]))]), code: 'IGVM_INVALID_BINARY_DIRECTIVE_HEADER', inner: 'IGVM_NO_VBS_VP_CONTEXT_REGISTERS', msg: 'has no registers' },
  { name: 'vsm vtl 3', bytes: () => raw([VSM, vpCtx(1, encodeVsmContext([{ vtl: 3, name: 1, value: bytes(16) }]))]), code: 'IGVM_INVALID_BINARY_DIRECTIVE_HEADER', inner: 'IGVM_INVALID_VTL', msg: 'vtl 3' },
  { name: 'vsm register count past end', bytes: () => raw([VSM, vpCtx(1, new Uint8Array([200, 0, 0, 0]))]), code: 'IGVM_INVALID_BINARY_DIRECTIVE_HEADER', inner: 'IGVM_INVALID_DATA_SIZE', msg: 'runs past the end' },
  { name: 'no platforms', bytes: () => raw([]), code: 'IGVM_NO_PLATFORM_HEADERS', msg: 'no platform headers' },
  { name: 'same platform twice', bytes: () => raw([VSM, platform(2, 1)]), code: 'IGVM_MULTIPLE_PLATFORM_HEADERS_WITH_SAME_ISOLATION', msg: 'VSM_ISOLATION appears twice' },
  { name: 'snp on aarch64', bytes: () => raw([VSM, platform(2, 2)], ARM), code: 'IGVM_PLATFORM_ARCH_UNSUPPORTED', msg: 'SEV_SNP is not supported on aarch64' },
  { name: 'cca on x64', bytes: () => raw([platform(1, 6)]), code: 'IGVM_PLATFORM_ARCH_UNSUPPORTED', msg: 'CCA is not supported on x64' },
  { name: 'cca policy on x64', bytes: () => raw([VSM, { kind: 'CCA_POLICY', compatibilityMask: 1, requiredZeroes: 0n, requiredOnes: 0n, hashAlgorithm: 0, lfaPolicy: 0 }]), code: 'IGVM_INVALID_HEADER_ARCH', msg: 'CcaPolicy is not valid on x64' },
  { name: 'cca policy on vsm mask', bytes: () => raw([VSM, { kind: 'CCA_POLICY', compatibilityMask: 1, requiredZeroes: 0n, requiredOnes: 0n, hashAlgorithm: 0, lfaPolicy: 0 }], ARM), code: 'IGVM_INVALID_CCA_POLICY_COMPATIBILITY_MASK', msg: 'mask 0x1 does not reference a cca platform' },
  { name: 'two page table regions', bytes: () => raw([VSM, pageTable(), pageTable({ gpa: 0x100000n }), vsmContext(1)]), code: 'IGVM_MULTIPLE_PAGE_TABLE_RELOCATION_HEADERS', msg: 'second page table' },
  { name: 'relocation overlap', bytes: () => raw([VSM, pageTable({ gpa: 0x200000n }), relocation(), vsmContext(1)]), code: 'IGVM_RELOCATION_REGIONS_OVERLAP', msg: 'overlaps [0x200000, 0x203fff]' },
  { name: 'parameter before area', bytes: () => raw([VSM, { kind: 'VP_COUNT_PARAMETER', parameterAreaIndex: 4, byteOffset: 0 }]), code: 'IGVM_INVALID_PARAMETER_AREA_INDEX', msg: 'parameter area 4, which is not declared' },
  { name: 'area declared twice', bytes: () => raw([VSM, area(1), area(1)]), code: 'IGVM_INVALID_PARAMETER_AREA_INDEX', msg: 'declared twice' },
  { name: 'parameter after insert', bytes: () => raw([VSM, area(1), insert(1), { kind: 'MEMORY_MAP', parameterAreaIndex: 1, byteOffset: 0 }]), code: 'IGVM_INVALID_PARAMETER_AREA_INDEX', msg: 'which is inserted' },
  { name: 'insert twice', bytes: () => raw([VSM, area(1), insert(1), insert(1)]), code: 'IGVM_INVALID_PARAMETER_AREA_INDEX', msg: 'parameter area 1 is inserted' },
  { name: 'insert in page table region', bytes: () => raw([VSM, pageTable(), area(1), insert(1, 0x11000n), vsmContext(1)]), code: 'IGVM_PARAMETER_INSERT_INSIDE_PAGE_TABLE_REGION', msg: 'insert at 0x11000' },
  { name: 'relocation without vsm context', bytes: () => raw([VSM, relocation({ vtl: 2 }), vsmContext(1, 0)]), code: 'IGVM_NO_MATCHING_VP_CONTEXT', msg: 'vtl 2 for the relocatable region' },
];

for (const c of cases) {
  test(`rejects ${c.name} with ${c.code}${c.inner === undefined ? '' : `/${c.inner}`}`, () => {
    const b = c.bytes();
    try {
      readIgvm(b);
      assert.unreachable('parsed');
    } catch (e) {
      if (!isHclError(e)) throw e;
      assert.is(e.code, c.code, e.message);
      assert.ok(e.message.includes(c.msg), `message "${e.message}" lacks "${c.msg}"`);
      if (c.inner !== undefined) {
        assert.is(e.context?.['innerCode'], c.inner);
        assert.ok(e.message.includes(`${e.context?.['variant'] as string}:`));
      }
    }
  });
}

test('a relocation region is accepted with its vsm vp context, and the crate ignores masks on two platforms', () => {
  const f = readIgvm(raw([VSM, platform(2, 0), relocation({ vtl: 2 }), pageTable({ vtl: 2 }), area(1), insert(1), vsmContext(1, 2)]));
  assert.equal(f.headers.map((h) => h.kind).slice(2, 4), ['RELOCATABLE_REGION', 'PAGE_TABLE_RELOCATION_REGION']);
});

test.run();
