import { HclError, type HclErrorCode } from '../errors.ts';
import { PlatformType, type IgvmHeader, type IgvmRevision } from './types.ts';

const hex = (v: bigint | number): string => `0x${v.toString(16)}`;
const PLATFORM_NAMES = Object.fromEntries(Object.entries(PlatformType).map(([k, v]) => [v, k])) as Record<number, string>;

/** The name of a platform type, or its number when unknown. */
export function platformName(type: number): string {
  return PLATFORM_NAMES[type] ?? `type ${type}`;
}

/** The individual one-bit masks of a mask, lowest first. */
export function maskBits(mask: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < 32; b++) if ((mask >>> b) & 1) out.push((1 << b) >>> 0);
  return out;
}

interface VpIdent { mask: number; vpIndex: number; vtl: number; what: string }

/**
 * The crate's whole-file rules after every header parsed on its own: platforms (at least one,
 * one per type, matching the architecture), initialization (CCA policy masks, one page-table
 * region per mask, no overlapping relocation regions) and directives (parameter area lifecycle,
 * inserts outside page-table regions, a VSM context for every relocation's VP/VTL).
 */
export function validateFile(revision: IgvmRevision, headers: readonly IgvmHeader[], offsets: readonly number[]): void {
  const arch = revision.version === 1 ? 'x64' : revision.arch;
  const fail = (code: HclErrorCode, i: number | undefined, msg: string): never => {
    const where = i === undefined ? 'igvm file' : `igvm ${headers[i]?.kind.toLowerCase()} header at ${hex(offsets[i] ?? 0)}`;
    throw new HclError(code, `${where}: ${msg}`, { context: i === undefined ? {} : { offset: offsets[i], index: i } });
  };
  const types = new Set<number>();
  const maskToPlatform = new Map<number, number>();
  headers.forEach((h, i) => {
    if (h.kind !== 'SUPPORTED_PLATFORM') return;
    const x64Only = h.platformType !== PlatformType.VSM_ISOLATION && h.platformType !== PlatformType.CCA;
    if ((x64Only && arch !== 'x64') || (h.platformType === PlatformType.CCA && arch !== 'aarch64')) {
      fail('IGVM_PLATFORM_ARCH_UNSUPPORTED', i, `platform ${platformName(h.platformType)} is not supported on ${arch}`);
    }
    if (types.has(h.platformType)) fail('IGVM_MULTIPLE_PLATFORM_HEADERS_WITH_SAME_ISOLATION', i, `platform ${platformName(h.platformType)} appears twice`);
    types.add(h.platformType);
    maskToPlatform.set(h.compatibilityMask, h.platformType);
  });
  if (types.size === 0) fail('IGVM_NO_PLATFORM_HEADERS', undefined, 'no platform headers');

  let pageTableMasks = 0;
  const regions = new Map<number, Array<[bigint, bigint]>>();
  const idents: VpIdent[] = [];
  const pageTables: Array<{ mask: number; gpa: bigint; end: bigint }> = [];
  const claim = (i: number, mask: number, start: bigint, size: bigint): void => {
    const last = start + size - 1n;
    for (const bit of maskBits(mask)) {
      const list = regions.get(bit) ?? [];
      const hit = list.find(([s, e]) => start <= e && s <= last);
      if (hit !== undefined) fail('IGVM_RELOCATION_REGIONS_OVERLAP', i, `region [${hex(start)}, ${hex(last)}] overlaps [${hex(hit[0])}, ${hex(hit[1])}] for mask ${hex(bit)}`);
      list.push([start, last]);
      regions.set(bit, list);
    }
  };
  headers.forEach((h, i) => {
    switch (h.kind) {
      case 'CCA_POLICY':
        if (arch !== 'aarch64') fail('IGVM_INVALID_HEADER_ARCH', i, `CcaPolicy is not valid on ${arch}`);
        for (const bit of maskBits(h.compatibilityMask)) {
          if (maskToPlatform.get(bit) !== PlatformType.CCA) fail('IGVM_INVALID_CCA_POLICY_COMPATIBILITY_MASK', i, `cca policy mask ${hex(bit)} does not reference a cca platform`);
        }
        return;
      case 'PAGE_TABLE_RELOCATION_REGION':
        if ((h.compatibilityMask & pageTableMasks) !== 0) fail('IGVM_MULTIPLE_PAGE_TABLE_RELOCATION_HEADERS', i, `second page table relocation region for mask ${hex(h.compatibilityMask & pageTableMasks)}`);
        pageTableMasks |= h.compatibilityMask;
        claim(i, h.compatibilityMask, h.gpa, h.size);
        idents.push({ mask: h.compatibilityMask, vpIndex: h.vpIndex, vtl: h.vtl, what: `page table region at ${hex(offsets[i] ?? 0)}` });
        pageTables.push({ mask: h.compatibilityMask, gpa: h.gpa, end: h.gpa + h.size });
        return;
      case 'RELOCATABLE_REGION':
        claim(i, h.compatibilityMask, h.relocationRegionGpa, h.relocationRegionSize);
        idents.push({ mask: h.compatibilityMask, vpIndex: h.vpIndex, vtl: h.vtl, what: `relocatable region at ${hex(offsets[i] ?? 0)}` });
        return;
      default:
    }
  });

  const areas = new Map<number, 'allocated' | 'inserted'>();
  let remaining = idents;
  headers.forEach((h, i) => {
    switch (h.kind) {
      case 'PARAMETER_AREA':
        if (areas.has(h.parameterAreaIndex)) fail('IGVM_INVALID_PARAMETER_AREA_INDEX', i, `parameter area ${h.parameterAreaIndex} declared twice`);
        areas.set(h.parameterAreaIndex, 'allocated');
        return;
      case 'PARAMETER_INSERT': {
        const state = areas.get(h.parameterAreaIndex);
        if (state !== 'allocated') fail('IGVM_INVALID_PARAMETER_AREA_INDEX', i, `parameter area ${h.parameterAreaIndex} is ${state ?? 'not declared'}`);
        areas.set(h.parameterAreaIndex, 'inserted');
        const pt = pageTables.find((r) => (r.mask & h.compatibilityMask) !== 0 && h.gpa >= r.gpa && h.gpa < r.end);
        if (pt !== undefined) fail('IGVM_PARAMETER_INSERT_INSIDE_PAGE_TABLE_REGION', i, `insert at ${hex(h.gpa)} lies in the page table region at ${hex(pt.gpa)}`);
        return;
      }
      case 'VP_CONTEXT':
        if (maskToPlatform.get(h.compatibilityMask) === PlatformType.VSM_ISOLATION && h.data.length >= 5) {
          const vtl = h.data[4] ?? 0;
          remaining = remaining.filter((id) => !((id.mask & h.compatibilityMask) !== 0 && id.vpIndex === 0 && id.vtl === vtl));
        }
        return;
      case 'PAGE_DATA': case 'REQUIRED_MEMORY': case 'ERROR_RANGE': case 'SNP_ID_BLOCK': case 'VBS_MEASUREMENT':
      case 'SUPPORTED_PLATFORM': case 'GUEST_POLICY': case 'RELOCATABLE_REGION': case 'PAGE_TABLE_RELOCATION_REGION':
      case 'CORIM_DOCUMENT': case 'CORIM_SIGNATURE': case 'CCA_POLICY':
        return;
      default: {
        const state = areas.get(h.parameterAreaIndex);
        if (state !== 'allocated') fail('IGVM_INVALID_PARAMETER_AREA_INDEX', i, `${h.kind.toLowerCase()} uses parameter area ${h.parameterAreaIndex}, which is ${state ?? 'not declared'}`);
      }
    }
  });
  const first = remaining[0];
  if (first !== undefined) fail('IGVM_NO_MATCHING_VP_CONTEXT', undefined, `no vsm vp context with vp_index 0 and vtl ${first.vtl} for the ${first.what} (vp_index ${first.vpIndex})`);
}
