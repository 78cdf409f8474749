// The three points where the reader follows igvm crate 0.4.0 (igvm/src/lib.rs, registers.rs at
// tag igvm-v0.4.0) and the unreleased head differs or hclckpt once did.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isHclError, type HclErrorCode } from '../../lib/errors.ts';
import { PlatformType, encodeVsmContext, readIgvm, writeIgvm, type IgvmFileInput, type IgvmHeader, type ReadOptions } from '../../lib/igvm/index.ts';
import { bytes, page, platform, vmsa, vsmContext } from './fixtures.ts';

const vbs = (names: number[], arch: 'x64' | 'aarch64' = 'x64'): Uint8Array => writeIgvm({
  revision: arch === 'x64' ? { version: 1 } : { version: 2, arch: 'aarch64' },
  headers: [platform(1, PlatformType.VSM_ISOLATION, 2), page(0n, 1, bytes(4096, 1)),
    { kind: 'VP_CONTEXT', gpa: 0n, compatibilityMask: 1, vpIndex: 0, reserved: 0, data: encodeVsmContext(names.map((name) => ({ vtl: 2, name, value: bytes(16, 1) }))) }],
}, { unchecked: true });

function refuses(b: Uint8Array, inner: HclErrorCode, text: string, options: ReadOptions = {}): void {
  try {
    readIgvm(b, options);
    assert.unreachable('parsed');
  } catch (e) {
    if (!isHclError(e)) throw e;
    assert.is(e.code, 'IGVM_INVALID_BINARY_DIRECTIVE_HEADER', e.message);
    assert.is(e.context?.['innerCode'], inner);
    assert.ok(e.message.includes(text), e.message);
  }
}

// registers.rs `TryFrom<VbsVpContextRegister> for X86Register`: RAX (0x20000), RDI (0x20007),
// R13 (0x2000d) and MTRR PhysBase5 (0x80015) have no arm and fall to `other => Err(UnsupportedRegister)`.
for (const name of [0x20000, 0x20007, 0x2000d, 0x80015]) {
  test(`x64 vbs register 0x${name.toString(16)} is refused with UnsupportedX64Register`, () => {
    refuses(vbs([0x20010, name]), 'IGVM_UNSUPPORTED_X64_REGISTER', `UnsupportedX64Register: vsm vp context at 0x`);
    refuses(vbs([0x20010, name]), 'IGVM_UNSUPPORTED_X64_REGISTER', `register 1 name 0x${name.toString(16)}`);
  });
}

test('x64 vbs registers the crate converts are accepted (RIP, RSP, R12, CR3, GDTR, MTRR Fix4kF8000)', () => {
  const f = readIgvm(vbs([0x20010, 0x20004, 0x2000c, 0x40002, 0x70001, 0x8007a]));
  assert.is(f.headers.filter((h) => h.kind === 'VP_CONTEXT').length, 1);
});

// `TryFrom<VbsVpContextRegister> for AArch64Register`: XPc, X0, X1, Cpsr, SctlrEl1, TcrEl1, MairEl1,
// VbarEl1, Ttbr0El1, Ttbr1El1 only; X2 (0x20002) is refused.
test('aarch64 vbs register X2 is refused with UnsupportedAArch64Register; XPc, X1, Cpsr, Ttbr1El1 pass', () => {
  refuses(vbs([0x20022, 0x20002], 'aarch64'), 'IGVM_UNSUPPORTED_AARCH64_REGISTER', 'UnsupportedAArch64Register:');
  assert.ok(readIgvm(vbs([0x20022, 0x20001, 0x20023, 0x40006], 'aarch64')));
  // The x64 RIP name is not an AArch64 register.
  refuses(vbs([0x20010], 'aarch64'), 'IGVM_UNSUPPORTED_AARCH64_REGISTER', 'name 0x20010');
});

// lib.rs new_from_binary: `filter_mask` starts at 0xFFFFFFFF and becomes the mask of the platform
// whose type equals the filter; an initialization or directive header with `mask & filter_mask == 0`
// is `continue`d past after it was parsed (and validated by new_from_binary_split).
const twoPlatforms = (extra: IgvmHeader[] = []): IgvmFileInput => ({
  revision: { version: 1 },
  headers: [platform(1, PlatformType.NATIVE), platform(2, PlatformType.VSM_ISOLATION, 2),
    page(0n, 1, bytes(4096, 1)), page(0x1000n, 2, bytes(4096, 2)), page(0x2000n, 3, bytes(4096, 3)), ...extra, vsmContext(2, 2)],
});

test('a header with mask 0 is dropped without a filter, and decode→encode gives the file without it', () => {
  const withZero = writeIgvm(twoPlatforms([page(0x3000n, 0, bytes(4096, 9)), { kind: 'REQUIRED_MEMORY', gpa: 0x100000n, compatibilityMask: 0, numberOfBytes: 0x1000, flags: 0 }]), { unchecked: true });
  const f = readIgvm(withZero);
  assert.equal(f.headers.filter((h) => 'compatibilityMask' in h && h.compatibilityMask === 0), []);
  assert.is(f.headers.length, 6);
  // The crate serializes what it kept: the same headers as a file written without the mask-0 ones.
  assert.equal(writeIgvm(f), writeIgvm(twoPlatforms()));
});

test('a mask-0 header is still checked before it is dropped (new_from_binary_split validates it)', () => {
  const b = writeIgvm(twoPlatforms([page(0x3010n, 0, bytes(0))]), { unchecked: true });
  try {
    readIgvm(b);
    assert.unreachable('parsed');
  } catch (e) {
    if (!isHclError(e)) throw e;
    assert.is(e.context?.['innerCode'], 'IGVM_UNALIGNED_ADDRESS');
  }
});

test('the isolation filter keeps only the headers of that platform; an absent platform filters nothing', () => {
  const b = writeIgvm(twoPlatforms());
  const gpas = (o: ReadOptions): bigint[] => readIgvm(b, o).headers.flatMap((h) => (h.kind === 'PAGE_DATA' ? [h.gpa] : []));
  assert.equal(gpas({ isolationFilter: PlatformType.VSM_ISOLATION }), [0x1000n, 0x2000n]);
  assert.equal(gpas({ isolationFilter: PlatformType.NATIVE }), [0n, 0x2000n]);
  assert.equal(gpas({ isolationFilter: PlatformType.TDX }), [0n, 0x1000n, 0x2000n]);
  // Platform headers are never filtered.
  assert.is(readIgvm(b, { isolationFilter: PlatformType.NATIVE }).headers.filter((h) => h.kind === 'SUPPORTED_PLATFORM').length, 2);
});

test('filtering runs before the whole-file rules: a relocation region shared with NATIVE loses its VSM context', () => {
  // The shape every x86 preset had before the release package: relocation mask NATIVE|VSM, VSM context
  // only for VSM. Loaded for NATIVE the context is dropped and used_vp_idents is left non-empty.
  const reloc: IgvmHeader = {
    kind: 'RELOCATABLE_REGION', compatibilityMask: 3, vpIndex: 0, vtl: 2, flags: 3, relocationAlignment: 0x200000n,
    relocationRegionGpa: 0x200000n, relocationRegionSize: 0x200000n, minimumRelocationGpa: 0n, maximumRelocationGpa: 1n << 48n,
  };
  const b = writeIgvm(twoPlatforms([reloc]));
  assert.ok(readIgvm(b, { isolationFilter: PlatformType.VSM_ISOLATION }));
  try {
    readIgvm(b, { isolationFilter: PlatformType.NATIVE });
    assert.unreachable('parsed');
  } catch (e) {
    if (!isHclError(e)) throw e;
    assert.is(e.code, 'IGVM_NO_MATCHING_VP_CONTEXT', e.message);
  }
});

// lib.rs, SEV_SNP | SEV_ES arm: `data.split_at(size_of::<SevVmsa>())` (1648 bytes in 0.4.0) and
// `remaining.iter().any(|b| *b != 0)` → InvalidVmsa. The crate head's SevVmsa has 2448 bytes of
// `vmsa_padding` (4096 in all) and copies the whole page without a check.
const snp = (page4k: Uint8Array): Uint8Array => writeIgvm({
  revision: { version: 1 },
  headers: [{ ...platform(1, PlatformType.SEV_SNP, 2), sharedGpaBoundary: 1n << 46n } as IgvmHeader, page(0n, 1, bytes(4096, 1)),
    { kind: 'VP_CONTEXT', gpa: 0x5000n, compatibilityMask: 1, vpIndex: 0, reserved: 0, data: page4k }],
}, { unchecked: true });

test('a non-zero byte after the 1648-byte VMSA is InvalidVmsa for 0.4.0 and accepted by the crate head', () => {
  const tail = vmsa(7);
  tail[1648] = 1;
  refuses(snp(tail), 'IGVM_INVALID_VMSA', 'InvalidVmsa: sev vmsa at 0x');
  refuses(snp(tail), 'IGVM_INVALID_VMSA', 'after the first 1648');
  const f = readIgvm(snp(tail), { crate: 'head' });
  const ctx = f.headers.find((h) => h.kind === 'VP_CONTEXT');
  assert.ok(ctx?.kind === 'VP_CONTEXT' && ctx.data[1648] === 1 && ctx.data.length === 4096);
  // The last VMSA byte itself is part of the VMSA.
  const last = vmsa(0);
  last[1647] = 1;
  assert.ok(readIgvm(snp(last)));
  // The writer's read-back follows the same choice.
  assert.throws(() => writeIgvm(readIgvm(snp(tail), { crate: 'head' })), (e: unknown) => isHclError(e, 'IGVM_WRITE_INVALID'));
  assert.ok(writeIgvm(readIgvm(snp(tail), { crate: 'head' }), { crate: 'head' }).length > 0);
});

test.run();
