import { crc32 } from '../bytes/index.ts';
import { HclError } from '../errors.ts';
import {
  PageDataType, PlatformType, RelocationFlags, encodeVsmContext, writeIgvm,
  type IgvmHeader, type PageData,
} from '../igvm/index.ts';
import { writeCpio } from '../kernel/cpio.ts';
import {
  DEFAULT_VTL2_BASE, DEFAULT_VTL2_SIZE, PARAM_REGION_PAGES, defaultLayout, encodeCommandLinePage,
  encodeMeasuredConfig, encodeShimParams, type CommandLinePolicy, type IsolationName, type ShimLayout,
} from '../shim/params.ts';
import { IMAGE_ENTRY_OFFSET, buildImage, shimImage } from './images.ts';
import { nativeContext, snpVmsa, vsmRegisters } from './vpcontext.ts';

/**
 * The OpenHCL IGVM package, built as igvmfilegen does (reference openhcl.md stage 0): shim with
 * its parameters (one shim page per platform where they differ), static command line page,
 * parameter region (SLIT, PPTT, host device tree areas inserted unmeasured; measured config page),
 * kernel, sidecar (x86), initrd, a VP context per platform, one SUPPORTED_PLATFORM per isolation.
 */

/** Options of `buildPackage`. */
export interface PackageOptions {
  arch: 'x86_64' | 'aarch64';
  /** Version that /bin/openvmm_hcl in the initrd carries (what servicing upgrades). */
  usermodeVersion: string;
  staticCmdline: string;
  policy: CommandLinePolicy;
  /** Default: every isolation the architecture supports (x86_64: none, vbs, snp, tdx; aarch64: none). */
  isolations?: IsolationName[];
  /** Where the image is built; default 128 MiB / 64 MiB. Hardware-isolated loads cannot move it. */
  vtl2?: { base: number; size: number };
}

/** Parameter area indexes of the three host-filled areas. */
export const PARAMETER_AREA = { slit: 0, pptt: 1, deviceTree: 2 } as const;
/** Bit of the shared-GPA boundary (vTOM) for hardware-isolated platforms. */
export const VTOM_BIT = { snp: 46, tdx: 47 } as const;
/** SNP guest policy: bit 17 must be one, bit 16 allows SMT. */
const SNP_POLICY = (1n << 17n) | (1n << 16n);
const PAGE = 4096;

/**
 * The IGVM platform type an isolation loads on. AArch64 has no NATIVE platform in the igvm
 * crate, so there a non-isolated VM loads on the VSM platform too.
 */
export function platformFor(arch: PackageOptions['arch'], isolation: IsolationName): number {
  if (arch === 'aarch64') {
    if (isolation === 'snp' || isolation === 'tdx') throw new HclError('IGVM_NO_PLATFORM_FOR_ISOLATION', `aarch64 package: no platform for ${isolation} isolation`);
    return PlatformType.VSM_ISOLATION;
  }
  return { none: PlatformType.NATIVE, vbs: PlatformType.VSM_ISOLATION, snp: PlatformType.SEV_SNP, tdx: PlatformType.TDX }[isolation];
}

/** The usermode binary content: a recognisable ELF-like stub naming its version. */
export function usermodeBinary(version: string): Uint8Array {
  return new TextEncoder().encode(`\x7fELF openvmm_hcl\nversion=${version}\n`);
}

/** The initrd: a cpio newc archive with /underhill-init and /bin/openvmm_hcl. */
export function buildInitrd(usermodeVersion: string): Uint8Array {
  return writeCpio({
    'underhill-init': new TextEncoder().encode(`#!underhill-init\nexec /bin/openvmm_hcl\nversion=${usermodeVersion}\n`),
    'bin/openvmm_hcl': usermodeBinary(usermodeVersion),
  });
}

interface Platform { isolation: IsolationName; type: number; mask: number }

function pages(gpa: bigint, data: Uint8Array, mask: number): PageData[] {
  const out: PageData[] = [];
  for (let at = 0; at < data.length; at += PAGE) {
    out.push({ kind: 'PAGE_DATA', gpa: gpa + BigInt(at), compatibilityMask: mask, flags: 0, dataType: PageDataType.NORMAL, data: data.slice(at, at + PAGE) });
  }
  return out;
}

// igvmfilegen builds a package once per release, while every boot of a VM asks for the same
// one: packages are kept by their options (the few most recently used) and handed out as fresh copies.
const built = new Map<string, Uint8Array>();
const MAX_BUILT = 8;

// Strings stay JSON strings; everything else carries its type, so no two options share a key.
function keyPart(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(keyPart);
  return typeof v === 'string' ? v : [typeof v, String(v)];
}

/** Builds the OpenHCL IGVM package bytes (a fresh copy on every call). */
export function buildPackage(opts: PackageOptions): Uint8Array {
  const key = JSON.stringify([opts.arch, opts.usermodeVersion, opts.staticCmdline, opts.policy, opts.isolations, opts.vtl2?.base, opts.vtl2?.size, opts.vtl2 === undefined].map(keyPart));
  let bytes = built.get(key);
  if (bytes === undefined) {
    bytes = assemble(opts);
    if (built.size >= MAX_BUILT) built.delete(built.keys().next().value!);
  } else {
    built.delete(key); // most recently used goes last, so the oldest is the one dropped
  }
  built.set(key, bytes);
  return bytes.slice();
}

function assemble(opts: PackageOptions): Uint8Array {
  const isolations = opts.isolations ?? (opts.arch === 'x86_64' ? ['none', 'vbs', 'snp', 'tdx'] : ['none']);
  const platforms: Platform[] = [];
  for (const isolation of new Set(isolations)) {
    const type = platformFor(opts.arch, isolation);
    if (platforms.some((p) => p.type === type)) throw new HclError('IGVM_WRITE_INVALID', `${opts.arch} package: ${isolation} shares its platform with another isolation; pick one`);
    platforms.push({ isolation, type, mask: 1 << platforms.length });
  }
  if (platforms.length === 0) throw new HclError('IGVM_WRITE_INVALID', 'package: no isolation given');
  const all = platforms.reduce((m, p) => m | p.mask, 0);
  const kernel = buildImage('kernel', opts.arch);
  const sidecar = opts.arch === 'x86_64' ? buildImage('sidecar', opts.arch) : new Uint8Array(0);
  const initrd = buildInitrd(opts.usermodeVersion);
  const base = BigInt(opts.vtl2?.base ?? DEFAULT_VTL2_BASE);
  const size = BigInt(opts.vtl2?.size ?? DEFAULT_VTL2_SIZE);
  const layoutOf = (isolation: IsolationName): ShimLayout => defaultLayout(base, size, {
    arch: opts.arch, isolation, kernelSize: kernel.length, kernelEntryOffset: IMAGE_ENTRY_OFFSET,
    initrdSize: initrd.length, initrdCrc: crc32(initrd), sidecarSize: sidecar.length,
  });
  const layout = layoutOf(platforms[0]!.isolation);
  const entry = layout.shim.gpa + BigInt(IMAGE_ENTRY_OFFSET);

  const headers: IgvmHeader[] = platforms.map((p) => ({
    kind: 'SUPPORTED_PLATFORM', compatibilityMask: p.mask, highestVtl: 2, platformType: p.type, platformVersion: 1,
    sharedGpaBoundary: p.isolation === 'snp' || p.isolation === 'tdx' ? 1n << BigInt(VTOM_BIT[p.isolation]) : 0n,
  }));
  for (const p of platforms) {
    if (p.isolation === 'snp') headers.push({ kind: 'GUEST_POLICY', policy: SNP_POLICY, compatibilityMask: p.mask });
  }
  // Relocation needs a VSM VP context (crate rule); the non-isolated platforms share the region.
  const vsm = platforms.find((p) => p.type === PlatformType.VSM_ISOLATION);
  if (vsm !== undefined) {
    const relocMask = platforms.filter((p) => p.type === PlatformType.NATIVE || p.type === PlatformType.VSM_ISOLATION).reduce((m, p) => m | p.mask, 0);
    headers.push({
      kind: 'RELOCATABLE_REGION', compatibilityMask: relocMask, vpIndex: 0, vtl: 2, flags: RelocationFlags.IS_VTL2 | RelocationFlags.APPLY_PC,
      relocationAlignment: 0x20_0000n, relocationRegionGpa: base, relocationRegionSize: size, minimumRelocationGpa: 0n, maximumRelocationGpa: 1n << 48n,
    });
  }
  headers.push({ kind: 'REQUIRED_MEMORY', gpa: base, compatibilityMask: all, numberOfBytes: Number(size), flags: 1 });

  // Shim: the parameter page differs per platform (isolation type); the code pages are shared.
  const shims = platforms.map((p) => shimImage(opts.arch, encodeShimParams(layoutOf(p.isolation).params)));
  shims.forEach((img, i) => headers.push(...pages(layout.shim.gpa, img.subarray(0, PAGE), platforms[i]!.mask)));
  headers.push(...pages(layout.shim.gpa + BigInt(PAGE), shims[0]!.subarray(PAGE), all));
  headers.push(...pages(layout.cmdlinePage.gpa, encodeCommandLinePage({ policy: opts.policy, line: opts.staticCmdline }), all));

  const region = (first: number): bigint => layout.paramRegion.gpa + BigInt(first * PAGE);
  const areas = [
    ['slit', 'SLIT', PARAM_REGION_PAGES.slit], ['pptt', 'PPTT', PARAM_REGION_PAGES.pptt], ['deviceTree', 'DEVICE_TREE', PARAM_REGION_PAGES.deviceTree],
  ] as const;
  for (const [name, , where] of areas) headers.push({ kind: 'PARAMETER_AREA', numberOfBytes: BigInt(where.count * PAGE), parameterAreaIndex: PARAMETER_AREA[name], initialData: new Uint8Array(0) });
  for (const [name, kind] of areas) headers.push({ kind, parameterAreaIndex: PARAMETER_AREA[name], byteOffset: 0 });
  for (const [name, , where] of areas) headers.push({ kind: 'PARAMETER_INSERT', gpa: region(where.first), compatibilityMask: all, parameterAreaIndex: PARAMETER_AREA[name] });
  headers.push({ kind: 'PAGE_DATA', gpa: region(PARAM_REGION_PAGES.acceptedRegions.first), compatibilityMask: all, flags: 0, dataType: PageDataType.NORMAL, data: new Uint8Array(0) });
  for (const p of platforms) {
    const vtomOffsetBit = p.isolation === 'snp' || p.isolation === 'tdx' ? VTOM_BIT[p.isolation] : 0;
    headers.push(...pages(region(PARAM_REGION_PAGES.measuredConfig.first), encodeMeasuredConfig({ vtomOffsetBit }), p.mask));
  }

  headers.push(...pages(layout.kernel.gpa, kernel, all), ...pages(layout.sidecar.gpa, sidecar, all), ...pages(layout.initrd.gpa, initrd, all));

  for (const p of platforms) {
    if (p.type === PlatformType.NATIVE) headers.push({ kind: 'VP_CONTEXT', gpa: 0n, compatibilityMask: p.mask, vpIndex: 0, reserved: 0, data: nativeContext(entry) });
    if (p.type === PlatformType.VSM_ISOLATION) headers.push({ kind: 'VP_CONTEXT', gpa: 0n, compatibilityMask: p.mask, vpIndex: 0, reserved: 0, data: encodeVsmContext(vsmRegisters(opts.arch, entry)) });
    if (p.type === PlatformType.SEV_SNP) {
      // The VMSA page sits in the reserved region; the loader treats it as measured VP state.
      headers.push({ kind: 'VP_CONTEXT', gpa: layout.reserved.gpa, compatibilityMask: p.mask, vpIndex: 0, reserved: 0, data: snpVmsa(entry) });
    }
  }
  return writeIgvm({ revision: opts.arch === 'x86_64' ? { version: 1 } : { version: 2, arch: 'aarch64' }, headers });
}
