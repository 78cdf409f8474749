/**
 * IGVM file model: every variable header of igvm_defs 0.4 as a discriminated union on `kind`,
 * with each field's body offset. Fields keep their raw on-disk values (flags as numbers, u64 as
 * bigint) so a file decodes and re-encodes byte for byte. Source: reference/igvm.md.
 */

/** Fixed-header magic, the bytes "IGVM". */
export const IGVM_MAGIC = 0x4d564749;
/** The only page size the crate supports. */
export const PAGE_SIZE_4K = 4096;
/** Size of a NATIVE VP context's used prefix inside its 4 KiB page. */
export const NATIVE_CONTEXT_SIZE = 232;
/** Size of the SEV VMSA (`SevVmsa`) in the igvm crate 0.4.0; the crate's unreleased head pads it to 4 KiB. */
export const SEV_VMSA_SIZE = 1648;

/** Platform types of SUPPORTED_PLATFORM.platform_type. */
export const PlatformType = { NATIVE: 0, VSM_ISOLATION: 1, SEV_SNP: 2, TDX: 3, SEV: 4, SEV_ES: 5, CCA: 6 } as const;
/** Architectures of the v2 fixed header. */
export const Architecture = { X64: 0, AARCH64: 1 } as const;
/** PAGE_DATA data types. */
export const PageDataType = { NORMAL: 0, SECRETS: 1, CPUID_DATA: 2, CPUID_XF: 3 } as const;
/** PAGE_DATA flag bits. */
export const PageDataFlags = { IS_2MB_PAGE: 1, UNMEASURED: 2, SHARED: 4 } as const;
/** RELOCATABLE_REGION flag bits. */
export const RelocationFlags = { IS_VTL2: 1, APPLY_PC: 2, APPLY_GDTR: 4 } as const;
/** Memory map entry types (IGVM_VHS_MEMORY_MAP_ENTRY.entry_type). */
export const MemoryMapEntryType = {
  MEMORY: 0, PLATFORM_RESERVED: 1, PERSISTENT: 2, VTL2_PROTECTABLE: 3, SPECIFIC_PURPOSE: 4, HIDDEN: 5,
} as const;

/** Revision of a file: v1 is always x64; v2 names its architecture (page size is always 4 KiB). */
export type IgvmRevision = { version: 1 } | { version: 2; arch: 'x64' | 'aarch64' };

/** SUPPORTED_PLATFORM (0x001, 16 bytes). */
export interface SupportedPlatform {
  kind: 'SUPPORTED_PLATFORM';
  /** @0 u32: exactly one bit, the platform's mask. */ compatibilityMask: number;
  /** @4 u8: 0 or 2. */ highestVtl: number;
  /** @5 u8: a PlatformType. */ platformType: number;
  /** @6 u16: must be 1. */ platformVersion: number;
  /** @8 u64: 0 for NATIVE and VSM. */ sharedGpaBoundary: bigint;
}

/** GUEST_POLICY (0x101, 16 bytes); reserved u32 @12 must be zero. */
export interface GuestPolicy {
  kind: 'GUEST_POLICY';
  /** @0 u64: SNP or TDX policy bits. */ policy: bigint;
  /** @8 u32. */ compatibilityMask: number;
}

/** RELOCATABLE_REGION (0x102, 48 bytes). */
export interface RelocatableRegion {
  kind: 'RELOCATABLE_REGION';
  /** @0 u32. */ compatibilityMask: number;
  /** @4 u16. */ vpIndex: number;
  /** @6 u8: 0–2. */ vtl: number;
  /** @7 u8: RelocationFlags. */ flags: number;
  /** @8 u64: multiple of 4K, not 0. */ relocationAlignment: bigint;
  /** @16 u64. */ relocationRegionGpa: bigint;
  /** @24 u64: multiple of 4K. */ relocationRegionSize: bigint;
  /** @32 u64. */ minimumRelocationGpa: bigint;
  /** @40 u64. */ maximumRelocationGpa: bigint;
}

/** PAGE_TABLE_RELOCATION_REGION (0x103, 32 bytes); reserved u8 @7 must be zero. */
export interface PageTableRelocationRegion {
  kind: 'PAGE_TABLE_RELOCATION_REGION';
  /** @0 u32. */ compatibilityMask: number;
  /** @4 u16. */ vpIndex: number;
  /** @6 u8. */ vtl: number;
  /** @8 u64. */ gpa: bigint;
  /** @16 u64. */ size: bigint;
  /** @24 u64: ≤ size. */ usedSize: bigint;
}

/** CORIM_DOCUMENT (0x104) / CORIM_SIGNATURE (0x105), 16 bytes; reserved u32 @12 must be zero. */
export interface CorimData {
  kind: 'CORIM_DOCUMENT' | 'CORIM_SIGNATURE';
  /** @0 u32. */ compatibilityMask: number;
  /** @4 u32: absolute file offset as read (0 = no data); the writer computes its own. */ fileOffset?: number;
  /** @8 u32: size of the data as read; the writer uses data.length. */ sizeBytes?: number;
  /** The document or signature bytes. */ data: Uint8Array;
}

/** CCA_POLICY (0x106, 32 bytes); reserved u32 @4 and bytes @26..32 must be zero. */
export interface CcaPolicy {
  kind: 'CCA_POLICY';
  /** @0 u32: CCA platform masks only. */ compatibilityMask: number;
  /** @8 u64: no bit in common with requiredOnes. */ requiredZeroes: bigint;
  /** @16 u64. */ requiredOnes: bigint;
  /** @24 u8: 0 SHA256, 1 SHA512, 2 SHA384. */ hashAlgorithm: number;
  /** @25 u8. */ lfaPolicy: number;
}

/** PARAMETER_AREA (0x301, 16 bytes). */
export interface ParameterArea {
  kind: 'PARAMETER_AREA';
  /** @0 u64: multiple of 4K. */ numberOfBytes: bigint;
  /** @8 u32. */ parameterAreaIndex: number;
  /** @12 u32: absolute file offset as read (0 = starts zeroed). */ fileOffset?: number;
  /** Initial contents (empty, or up to numberOfBytes; written padded to numberOfBytes). */ initialData: Uint8Array;
}

/** PAGE_DATA (0x302, 24 bytes); reserved u16 @22 must be zero. */
export interface PageData {
  kind: 'PAGE_DATA';
  /** @0 u64: 4K-aligned. */ gpa: bigint;
  /** @8 u32. */ compatibilityMask: number;
  /** @12 u32: absolute file offset as read (0 = zero page). */ fileOffset?: number;
  /** @16 u32: PageDataFlags. */ flags: number;
  /** @20 u16: PageDataType. */ dataType: number;
  /** Page contents: empty or ≤ 4096 bytes (written padded to 4096). */ data: Uint8Array;
}

/** PARAMETER_INSERT (0x303, 16 bytes). */
export interface ParameterInsert {
  kind: 'PARAMETER_INSERT';
  /** @0 u64: 4K-aligned. */ gpa: bigint;
  /** @8 u32. */ compatibilityMask: number;
  /** @12 u32. */ parameterAreaIndex: number;
}

/** VP_CONTEXT (0x304, 20 bytes, padded to 24). Data layout depends on the mask's platform. */
export interface VpContext {
  kind: 'VP_CONTEXT';
  /** @0 u64: the VMSA's GPA for SNP (4K-aligned). */ gpa: bigint;
  /** @8 u32: exactly one platform's mask. */ compatibilityMask: number;
  /** @12 u32: absolute file offset as read. */ fileOffset?: number;
  /** @16 u16: 0 for VSM. */ vpIndex: number;
  /** @18 u16: not checked by the crate. */ reserved: number;
  /** VSM: register records (see context.ts); SNP/SEV-ES: VMSA; NATIVE/SEV: 232-byte context (page padded). */
  data: Uint8Array;
}

/** REQUIRED_MEMORY (0x305, 24 bytes); reserved u32 @20 must be zero. */
export interface RequiredMemory {
  kind: 'REQUIRED_MEMORY';
  /** @0 u64: 4K-aligned. */ gpa: bigint;
  /** @8 u32. */ compatibilityMask: number;
  /** @12 u32: 4K-aligned. */ numberOfBytes: number;
  /** @16 u32: bit0 vtl2_protectable. */ flags: number;
}

/** Kinds with the 8-byte PARAMETER layout, and their header types. */
export const PARAMETER_KINDS = {
  VP_COUNT_PARAMETER: 0x307, SRAT: 0x308, MADT: 0x309, MMIO_RANGES: 0x30a, MEMORY_MAP: 0x30c,
  COMMAND_LINE: 0x30e, SLIT: 0x30f, PPTT: 0x310, DEVICE_TREE: 0x312, ENVIRONMENT_INFO_PARAMETER: 0x313,
} as const;
/** A PARAMETER-layout header kind. */
export type ParameterKind = keyof typeof PARAMETER_KINDS;

/** A PARAMETER-layout header (8 bytes): the loader writes a value into an area at byteOffset. */
export interface ParameterUsage {
  kind: ParameterKind;
  /** @0 u32. */ parameterAreaIndex: number;
  /** @4 u32: not checked by the crate. */ byteOffset: number;
}

/** SNP_ID_BLOCK (0x30B, 696 bytes). Signature/key blobs are kept raw (r,s / curve,rsvd,qx,qy). */
export interface SnpIdBlock {
  kind: 'SNP_ID_BLOCK';
  /** @0 u32. */ compatibilityMask: number;
  /** @4 u8. */ authorKeyEnabled: number;
  /** @5 [3]: not checked. */ reserved: Uint8Array;
  /** @8 [48]. */ ld: Uint8Array;
  /** @56 [16]. */ familyId: Uint8Array;
  /** @72 [16]. */ imageId: Uint8Array;
  /** @88 u32. */ version: number;
  /** @92 u32. */ guestSvn: number;
  /** @96 u32. */ idKeyAlgorithm: number;
  /** @100 u32. */ authorKeyAlgorithm: number;
  /** @104 [144]: r[72] s[72]. */ idKeySignature: Uint8Array;
  /** @248 [152]: curve u32, reserved u32, qx[72], qy[72]. */ idPublicKey: Uint8Array;
  /** @400 [144]. */ authorKeySignature: Uint8Array;
  /** @544 [152]. */ authorPublicKey: Uint8Array;
}

/** ERROR_RANGE (0x30D, 16 bytes). */
export interface ErrorRange {
  kind: 'ERROR_RANGE';
  /** @0 u64: 4K-aligned. */ gpa: bigint;
  /** @8 u32. */ compatibilityMask: number;
  /** @12 u32. */ sizeBytes: number;
}

/** VBS_MEASUREMENT (0x311, 864 bytes). */
export interface VbsMeasurement {
  kind: 'VBS_MEASUREMENT';
  /** @0 u32. */ compatibilityMask: number;
  /** @4 u32. */ version: number;
  /** @8 u32. */ productId: number;
  /** @12 u32. */ moduleId: number;
  /** @16 u32. */ securityVersion: number;
  /** @20 u32. */ policyFlags: number;
  /** @24 u32: 1 SHA256. */ bootDigestAlgo: number;
  /** @28 u32: 1 ECDSA_P384. */ signingAlgo: number;
  /** @32 [64]. */ bootMeasurementDigest: Uint8Array;
  /** @96 [256]. */ signature: Uint8Array;
  /** @352 [512]. */ publicKey: Uint8Array;
}

/** Any variable header. */
export type IgvmHeader =
  | SupportedPlatform | GuestPolicy | RelocatableRegion | PageTableRelocationRegion | CorimData | CcaPolicy
  | ParameterArea | PageData | ParameterInsert | VpContext | RequiredMemory | ParameterUsage | SnpIdBlock
  | ErrorRange | VbsMeasurement;

/** The kind names of every variable header. */
export type IgvmHeaderKind = IgvmHeader['kind'];

/** What the writer takes: a revision and the headers in section order. */
export interface IgvmFileInput {
  revision: IgvmRevision;
  headers: IgvmHeader[];
}

/** The fixed header as read (24 bytes for v1, 32 for v2). */
export interface FixedHeader {
  /** @0. */ magic: number;
  /** @4: 1 or 2. */ formatVersion: number;
  /** @8. */ variableHeaderOffset: number;
  /** @12. */ variableHeaderSize: number;
  /** @16. */ totalFileSize: number;
  /** @20: CRC-32 of fixed header (checksum 0) + variable headers. */ checksum: number;
  /** @24 (v2): 0 x64, 1 AArch64. */ architecture?: number;
  /** @28 (v2): 4096. */ pageSize?: number;
}

/** A file as read: the headers plus where everything was in the bytes. */
export interface IgvmFile extends IgvmFileInput {
  fixedHeader: FixedHeader;
  /** File offset of each header's 8-byte type/length prefix, parallel to `headers`. */
  headerOffsets: number[];
  /** Start of the file data section (variable_header_offset + variable_header_size). */
  dataStart: number;
}

/** The compatibility mask of a header, or undefined for the mask-less kinds (apply to all). */
export function headerMask(h: IgvmHeader): number | undefined {
  return 'compatibilityMask' in h ? h.compatibilityMask : undefined;
}

/** True for the PARAMETER-layout kinds (VP count, memory map, device tree, ...). */
export function isParameterUsage(h: IgvmHeader): h is ParameterUsage {
  return Object.hasOwn(PARAMETER_KINDS, h.kind);
}
