import { HclError, type HclErrorCode } from '../errors.ts';
import { PAGE_SIZE_4K, PlatformType, type IgvmHeader } from './types.ts';

const PAGE = BigInt(PAGE_SIZE_4K);
const hex = (v: bigint | number): string => `0x${v.toString(16)}`;

/** Throws a header-level error (the reader wraps it in its section's variant). */
export function headerError(code: HclErrorCode, message: string): never {
  throw new HclError(code, message);
}

/** The crate's variant name for an IGVM error code (IGVM_INVALID_DATA_SIZE → InvalidDataSize). */
export function variantName(code: HclErrorCode): string {
  if (code === 'IGVM_UNSUPPORTED_AARCH64_REGISTER') return 'UnsupportedAArch64Register'; // the crate spells AArch64
  return code.replace(/^IGVM_/, '').toLowerCase().replace(/(^|_)([a-z])/g, (_m, _u: string, c: string) => c.toUpperCase());
}

/** Platform-header rules, in the crate's order: one mask bit, VTL 0|2, known type, version 1, boundary. */
export function checkPlatform(h: IgvmHeader): void {
  if (h.kind !== 'SUPPORTED_PLATFORM') return;
  const bits = h.compatibilityMask.toString(2).replace(/0/g, '').length;
  if (bits !== 1) headerError('IGVM_INVALID_COMPATIBILITY_MASK', `compatibility mask ${hex(h.compatibilityMask)} must have exactly one bit`);
  if (h.highestVtl !== 0 && h.highestVtl !== 2) headerError('IGVM_INVALID_VTL', `highest vtl ${h.highestVtl} must be 0 or 2`);
  if (!Object.values(PlatformType).includes(h.platformType as 0)) {
    headerError('IGVM_INVALID_PLATFORM_TYPE', `platform type ${h.platformType} is unknown`);
  }
  if (h.platformVersion !== 1) headerError('IGVM_INVALID_PLATFORM_VERSION', `platform version ${h.platformVersion} must be 1`);
  const zeroBoundary = h.platformType === PlatformType.NATIVE || h.platformType === PlatformType.VSM_ISOLATION;
  if (zeroBoundary && h.sharedGpaBoundary !== 0n) {
    headerError('IGVM_INVALID_SHARED_GPA_BOUNDARY', `shared gpa boundary ${hex(h.sharedGpaBoundary)} must be 0 for this platform`);
  }
}

function vtl(v: number): void {
  if (v > 2) headerError('IGVM_INVALID_VTL', `vtl ${v} must be 0, 1 or 2`);
}

/** Initialization-header rules (alignment, sizes, masks of policy bits). */
export function checkInitialization(h: IgvmHeader): void {
  switch (h.kind) {
    case 'RELOCATABLE_REGION': {
      vtl(h.vtl);
      const size = h.relocationRegionSize;
      if (size % PAGE !== 0n || size === 0n || h.relocationRegionGpa + size > 1n << 64n) {
        headerError('IGVM_RELOCATION_SIZE', `relocation region size ${hex(size)} must be a non-zero multiple of 4k inside the address space`);
      }
      const align = h.relocationAlignment;
      if (align === 0n || align % PAGE !== 0n) headerError('IGVM_RELOCATION_ALIGNMENT', `relocation alignment ${hex(align)} must be a non-zero multiple of 4k`);
      for (const [name, gpa] of [['region gpa', h.relocationRegionGpa], ['minimum gpa', h.minimumRelocationGpa], ['maximum gpa', h.maximumRelocationGpa]] as const) {
        if (gpa % align !== 0n) headerError('IGVM_RELOCATION_ADDRESS', `relocation ${name} ${hex(gpa)} is not aligned to ${hex(align)}`);
      }
      return;
    }
    case 'PAGE_TABLE_RELOCATION_REGION':
      vtl(h.vtl);
      if (h.gpa % PAGE !== 0n) headerError('IGVM_UNALIGNED_ADDRESS', `page table region gpa ${hex(h.gpa)} is not 4k-aligned`);
      if (h.size % PAGE !== 0n || h.usedSize % PAGE !== 0n) headerError('IGVM_UNALIGNED_SIZE', `page table region size ${hex(h.size)} / used ${hex(h.usedSize)} not 4k-aligned`);
      if (h.size === 0n || h.usedSize > h.size || h.gpa + h.size > 1n << 64n) {
        headerError('IGVM_INVALID_PAGE_TABLE_REGION_SIZE', `page table region used size ${hex(h.usedSize)} must be ≤ size ${hex(h.size)} (non-zero)`);
      }
      return;
    case 'CCA_POLICY':
      if ((h.requiredOnes & h.requiredZeroes) !== 0n) {
        headerError('IGVM_INVALID_ONES_ZEROES_MASKS', `cca policy required ones ${hex(h.requiredOnes)} and zeroes ${hex(h.requiredZeroes)} share bits`);
      }
      return;
    default:
  }
}

function aligned(gpa: bigint, what: string): void {
  if (gpa % PAGE !== 0n) headerError('IGVM_UNALIGNED_ADDRESS', `${what} gpa ${hex(gpa)} is not 4k-aligned`);
}

/** Directive-header rules the crate applies to one header on its own. */
export function checkDirective(h: IgvmHeader, isSnpContext = false): void {
  switch (h.kind) {
    case 'PAGE_DATA':
      aligned(h.gpa, 'page data');
      if (h.dataType > 3) headerError('IGVM_INVALID_PAGE_DATA_TYPE', `page data type ${h.dataType} is unknown`);
      if (h.data.length > PAGE_SIZE_4K) headerError('IGVM_INVALID_DATA_SIZE', `page data is ${h.data.length} bytes, more than 4096`);
      return;
    case 'PARAMETER_AREA':
      if (h.numberOfBytes % PAGE !== 0n) headerError('IGVM_UNALIGNED_SIZE', `parameter area size ${hex(h.numberOfBytes)} is not 4k-aligned`);
      if (BigInt(h.initialData.length) > h.numberOfBytes) {
        headerError('IGVM_INVALID_DATA_SIZE', `parameter area initial data is ${h.initialData.length} bytes, more than ${h.numberOfBytes}`);
      }
      return;
    case 'REQUIRED_MEMORY':
      aligned(h.gpa, 'required memory');
      if (h.numberOfBytes % PAGE_SIZE_4K !== 0) headerError('IGVM_UNALIGNED_SIZE', `required memory size ${hex(h.numberOfBytes)} is not 4k-aligned`);
      return;
    case 'VP_CONTEXT':
      if (isSnpContext) aligned(h.gpa, 'vp context');
      return;
    case 'PARAMETER_INSERT':
      aligned(h.gpa, 'parameter insert');
      return;
    case 'ERROR_RANGE':
      aligned(h.gpa, 'error range');
      return;
    default:
  }
}
