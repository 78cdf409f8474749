// Sample IGVM header sets shared by the igvm tests: one per format version/architecture, between
// them holding every header kind.
import { encodeNativeContext, encodeVsmContext } from '../../lib/igvm/context.ts';
import { PARAMETER_KINDS, type IgvmFileInput, type IgvmHeader, type ParameterKind } from '../../lib/igvm/types.ts';

/** `n` bytes of `fill`. */
export const bytes = (n: number, fill = 0): Uint8Array => new Uint8Array(n).fill(fill);

/** A SUPPORTED_PLATFORM header. */
export function platform(mask: number, platformType: number, highestVtl = 0): IgvmHeader {
  return { kind: 'SUPPORTED_PLATFORM', compatibilityMask: mask, highestVtl, platformType, platformVersion: 1, sharedGpaBoundary: 0n };
}

/** A PAGE_DATA header. */
export function page(gpa: bigint, mask: number, data: Uint8Array, dataType = 0, flags = 0): IgvmHeader {
  return { kind: 'PAGE_DATA', gpa, compatibilityMask: mask, flags, dataType, data };
}

/**
 * A VSM VP context with two registers at the given VTL, named so the igvm crate converts them
 * (registers.rs): x64 Rip 0x20010 and Cr3 0x40002; AArch64 X0 0x20000 and SctlrEl1 0x40002.
 */
export function vsmContext(mask: number, vtl = 0, arch: 'x64' | 'aarch64' = 'x64'): IgvmHeader {
  const first = arch === 'x64' ? 0x20010 : 0x20000;
  return {
    kind: 'VP_CONTEXT', gpa: 0n, compatibilityMask: mask, vpIndex: 0, reserved: 0,
    data: encodeVsmContext([{ vtl, name: first, value: bytes(16, 7) }, { vtl, name: 0x40002, value: bytes(16, 1) }]),
  };
}

/** A SEV VMSA page: the 1648-byte VMSA filled with `fill`, the rest zero (igvm 0.4.0 requires it). */
export function vmsa(fill: number): Uint8Array {
  return bytes(4096).fill(fill, 0, 1648);
}

const paramKinds = Object.keys(PARAMETER_KINDS) as ParameterKind[];

/** v1 x64: NATIVE (1), VSM (2), SNP (4), SEV (8), SEV-ES (16), TDX (32) with every x64 header kind. */
export function x64File(): IgvmFileInput {
  return {
    revision: { version: 1 },
    headers: [
      platform(1, 0), platform(2, 1, 2), platform(4, 2, 2),
      { ...platform(8, 4), sharedGpaBoundary: 1n << 46n } as IgvmHeader, platform(16, 5), platform(32, 3),
      { kind: 'GUEST_POLICY', policy: 0x30000n, compatibilityMask: 4 },
      { kind: 'RELOCATABLE_REGION', compatibilityMask: 2, vpIndex: 0, vtl: 2, flags: 3, relocationAlignment: 0x200000n,
        relocationRegionGpa: 0x800000n, relocationRegionSize: 0x400000n, minimumRelocationGpa: 0x200000n, maximumRelocationGpa: 0x40000000n },
      { kind: 'PAGE_TABLE_RELOCATION_REGION', compatibilityMask: 2, vpIndex: 0, vtl: 2, gpa: 0x100000n, size: 0x10000n, usedSize: 0x3000n },
      { kind: 'CORIM_DOCUMENT', compatibilityMask: 4, data: new TextEncoder().encode('corim document') },
      { kind: 'CORIM_SIGNATURE', compatibilityMask: 4, data: bytes(0) },
      { kind: 'PARAMETER_AREA', numberOfBytes: 0x2000n, parameterAreaIndex: 0, initialData: bytes(0) },
      ...paramKinds.map((kind, i): IgvmHeader => ({ kind, parameterAreaIndex: 0, byteOffset: i * 64 })),
      { kind: 'PARAMETER_INSERT', gpa: 0x20000n, compatibilityMask: 0x3f, parameterAreaIndex: 0 },
      { kind: 'PARAMETER_AREA', numberOfBytes: 0x1000n, parameterAreaIndex: 7, initialData: bytes(4096, 0xaa) },
      { kind: 'PARAMETER_INSERT', gpa: 0x22000n, compatibilityMask: 1, parameterAreaIndex: 7 },
      page(0x0n, 0x3f, bytes(4096, 0xaa)),
      page(0x1000n, 0x3f, bytes(100, 0x11)),
      page(0x2000n, 3, bytes(0), 0, 2),
      page(0x3000n, 4, bytes(4096, 0x22), 1),
      page(0x4000n, 4, bytes(4096, 0x11).fill(0, 100), 2),
      { kind: 'REQUIRED_MEMORY', gpa: 0x100000n, compatibilityMask: 2, numberOfBytes: 0x200000, flags: 1 },
      { kind: 'ERROR_RANGE', gpa: 0x5000n, compatibilityMask: 4, sizeBytes: 0x1000 },
      { kind: 'SNP_ID_BLOCK', compatibilityMask: 4, authorKeyEnabled: 1, reserved: bytes(3, 9), ld: bytes(48, 1), familyId: bytes(16, 2),
        imageId: bytes(16, 3), version: 1, guestSvn: 5, idKeyAlgorithm: 1, authorKeyAlgorithm: 1, idKeySignature: bytes(144, 4),
        idPublicKey: bytes(152, 5), authorKeySignature: bytes(144, 6), authorPublicKey: bytes(152, 7) },
      { kind: 'VBS_MEASUREMENT', compatibilityMask: 2, version: 1, productId: 2, moduleId: 3, securityVersion: 4, policyFlags: 5,
        bootDigestAlgo: 1, signingAlgo: 1, bootMeasurementDigest: bytes(64, 8), signature: bytes(256, 9), publicKey: bytes(512, 10) },
      { kind: 'VP_CONTEXT', gpa: 0n, compatibilityMask: 1, vpIndex: 0, reserved: 0, data: encodeNativeContext({ rip: 0xfff0n, cr0: 0x11n }).subarray(0, 232) },
      vsmContext(2, 2),
      { kind: 'VP_CONTEXT', gpa: 0xfffff000n, compatibilityMask: 4, vpIndex: 0, reserved: 3, data: vmsa(0x5a) },
      { kind: 'VP_CONTEXT', gpa: 0n, compatibilityMask: 8, vpIndex: 1, reserved: 0, data: encodeNativeContext({ rip: 0x1000n }) },
      { kind: 'VP_CONTEXT', gpa: 0x6000n, compatibilityMask: 16, vpIndex: 0, reserved: 0, data: vmsa(0x5a) },
    ],
  };
}

/** v2 x64: one VSM platform, a page and its context. */
export function v2x64File(): IgvmFileInput {
  return { revision: { version: 2, arch: 'x64' }, headers: [platform(1, 1, 2), page(0n, 1, bytes(4096, 1)), vsmContext(1, 2)] };
}

/** v2 AArch64: VSM and CCA platforms, a CCA policy, pages, a parameter area and a VSM context. */
export function aarch64File(): IgvmFileInput {
  return {
    revision: { version: 2, arch: 'aarch64' },
    headers: [
      platform(1, 1, 2), platform(2, 6),
      { kind: 'CCA_POLICY', compatibilityMask: 2, requiredZeroes: 0x4n, requiredOnes: 0x1n, hashAlgorithm: 1, lfaPolicy: 1 },
      page(0n, 3, bytes(4096, 1)), page(0x1000n, 1, bytes(4096, 2)),
      { kind: 'PARAMETER_AREA', numberOfBytes: 0x1000n, parameterAreaIndex: 3, initialData: bytes(10, 1) },
      { kind: 'DEVICE_TREE', parameterAreaIndex: 3, byteOffset: 0 },
      { kind: 'PARAMETER_INSERT', gpa: 0x8000n, compatibilityMask: 1, parameterAreaIndex: 3 },
      vsmContext(1, 0, 'aarch64'),
    ],
  };
}
