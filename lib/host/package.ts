import { crc32 } from '../bytes/index.ts';
import { HclError } from '../errors.ts';
import {
  PageDataFlags, PageDataType, PlatformType, RelocationFlags, encodeVsmContext, writeIgvm,
  type IgvmHeader, type PageData,
} from '../igvm/index.ts';
import { writeCpio } from '../abi/index.ts';
import {
  DEFAULT_VTL2_BASE, DEFAULT_VTL2_SIZE, PARAM_REGION_PAGES, defaultLayout, encodeCommandLinePage,
  encodeMeasuredConfig, encodeShimParams, type CommandLinePolicy, type IsolationName, type ShimLayout,
} from '../abi/index.ts';
import { IMAGE_ENTRY_OFFSET, buildImage, shimImage } from './images.ts';
import { snpVmsa, vsmRegisters } from './vpcontext.ts';
import { VTL0_CONFIG_GPA, encodeVtl0Config } from './vtl0config.ts';

/**
 * The OpenHCL IGVM package, built as igvmfilegen does from openvmm's manifests
 * (vm/loader/manifests): shim with its parameters (one shim page per platform where they
 * differ), static command line page, parameter region (SLIT, PPTT, host device tree areas
 * inserted unmeasured; measured config page), kernel, sidecar (x86), initrd, the VTL0 measured
 * config page, a VP context per platform.
 */

/** The two packages igvmfilegen builds: openhcl-{x64,aarch64}-release.json and openhcl-x64-cvm-release.json. */
export type PackageKind = 'release' | 'cvm';
/**
 * The isolations a package's guest configs name, in manifest order. The release manifest's one
 * config is isolation "none", which igvmfilegen emits as the VSM platform (file_loader.rs
 * `IgvmLoader::new`); the CVM manifest lists snp, tdx and vbs, each with `memory_page_base`.
 */
export const PACKAGE_ISOLATIONS: Readonly<Record<PackageKind, readonly IsolationName[]>> = { release: ['none'], cvm: ['snp', 'tdx', 'vbs'] };

/** Options of `buildPackage`. */
export interface PackageOptions {
  arch: 'x86_64' | 'aarch64';
  /** Version that /bin/openvmm_hcl in the initrd carries (what servicing upgrades). */
  usermodeVersion: string;
  staticCmdline: string;
  policy: CommandLinePolicy;
  /** Default 'release'. 'cvm' is x86_64 only. */
  kind?: PackageKind;
  /**
   * Where the image is built; default 128 MiB / 64 MiB. The release image is relocatable, the
   * CVM image sits at this base for every platform (paravisor.rs: relocation only without
   * `memory_page_base` and without isolation).
   */
  vtl2?: { base: number; size: number };
}

/** Parameter area indexes of the three host-filled areas. */
export const PARAMETER_AREA = { slit: 0, pptt: 1, deviceTree: 2 } as const;
/** Bit of the shared-GPA boundary (vTOM) for hardware-isolated platforms. */
export const VTOM_BIT = { snp: 46, tdx: 47 } as const;
/** SNP guest policy: bit 17 must be one, bit 16 allows SMT. */
const SNP_POLICY = (1n << 17n) | (1n << 16n);
const PAGE = 4096;
/** paravisor.rs PARAVISOR_DEFAULT_MEMORY_BASE_ADDRESS: the lowest base a relocatable image may move to. */
const MIN_RELOCATION_BASE = 0x800_0000n;

/**
 * The IGVM platform type an isolation loads on: OpenVMM reads the file with the Vbs filter for
 * both no isolation and VBS (openvmm_core vm_loaders/igvm.rs `igvm_isolation_type`).
 */
export function platformFor(arch: PackageOptions['arch'], isolation: IsolationName): number {
  if (arch === 'aarch64' && (isolation === 'snp' || isolation === 'tdx')) {
    throw new HclError('IGVM_NO_PLATFORM_FOR_ISOLATION', `aarch64 package: no platform for ${isolation} isolation`);
  }
  return { none: PlatformType.VSM_ISOLATION, vbs: PlatformType.VSM_ISOLATION, snp: PlatformType.SEV_SNP, tdx: PlatformType.TDX }[isolation];
}

/** The package a VM with this isolation boots: the release one without isolation, the CVM one otherwise. */
export function packageKindFor(isolation: IsolationName): PackageKind {
  return isolation === 'none' ? 'release' : 'cvm';
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

function pages(gpa: bigint, data: Uint8Array, mask: number, flags = 0): PageData[] {
  const out: PageData[] = [];
  for (let at = 0; at < data.length; at += PAGE) {
    out.push({ kind: 'PAGE_DATA', gpa: gpa + BigInt(at), compatibilityMask: mask, flags, dataType: PageDataType.NORMAL, data: data.subarray(at, at + PAGE) });
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
  const key = JSON.stringify([opts.arch, opts.usermodeVersion, opts.staticCmdline, opts.policy, opts.kind ?? 'release', opts.vtl2?.base, opts.vtl2?.size, opts.vtl2 === undefined].map(keyPart));
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

const hardware = (p: Platform): boolean => p.isolation === 'snp' || p.isolation === 'tdx';

/** The pages and parameter areas of platforms sharing one layout; group `g` owns parameter areas 3g..3g+2. */
function groupPages(
  opts: PackageOptions, members: Platform[], layoutOf: (isolation: IsolationName) => ShimLayout, g: number,
  images: Record<'kernel' | 'sidecar' | 'initrd', Uint8Array>,
): IgvmHeader[] {
  const out: IgvmHeader[] = [];
  const layout = layoutOf(members[0]!.isolation);
  const mask = members.reduce((m, p) => m | p.mask, 0);
  // Shim: the parameter page differs per platform (isolation type); the code pages are shared.
  const shims = members.map((p) => shimImage(opts.arch, encodeShimParams(layoutOf(p.isolation).params)));
  shims.forEach((img, i) => out.push(...pages(layout.shim.gpa, img.subarray(0, PAGE), members[i]!.mask)));
  out.push(...pages(layout.shim.gpa + BigInt(PAGE), shims[0]!.subarray(PAGE), mask));
  out.push(...pages(layout.cmdlinePage.gpa, encodeCommandLinePage({ policy: opts.policy, line: opts.staticCmdline }), mask));
  // paravisor.rs: kernel and initrd are imported Shared on SNP/TDX (`kernel_acceptance`), Exclusive otherwise.
  const flags = members.some(hardware) ? PageDataFlags.SHARED : 0;
  out.push(...pages(layout.kernel.gpa, images.kernel, mask, flags), ...pages(layout.sidecar.gpa, images.sidecar, mask), ...pages(layout.initrd.gpa, images.initrd, mask, flags));

  const region = (first: number): bigint => layout.paramRegion.gpa + BigInt(first * PAGE);
  const areas = [
    ['slit', 'SLIT', PARAM_REGION_PAGES.slit], ['pptt', 'PPTT', PARAM_REGION_PAGES.pptt], ['deviceTree', 'DEVICE_TREE', PARAM_REGION_PAGES.deviceTree],
  ] as const;
  const index = (name: keyof typeof PARAMETER_AREA): number => PARAMETER_AREA[name] + 3 * g;
  for (const [name, , where] of areas) out.push({ kind: 'PARAMETER_AREA', numberOfBytes: BigInt(where.count * PAGE), parameterAreaIndex: index(name), initialData: new Uint8Array(0) });
  for (const [name, kind] of areas) out.push({ kind, parameterAreaIndex: index(name), byteOffset: 0 });
  for (const [name, , where] of areas) out.push({ kind: 'PARAMETER_INSERT', gpa: region(where.first), compatibilityMask: mask, parameterAreaIndex: index(name) });
  out.push({ kind: 'PAGE_DATA', gpa: region(PARAM_REGION_PAGES.acceptedRegions.first), compatibilityMask: mask, flags: 0, dataType: PageDataType.NORMAL, data: new Uint8Array(0) });
  for (const p of members) {
    const vtomOffsetBit = hardware(p) ? VTOM_BIT[p.isolation as 'snp' | 'tdx'] : 0;
    out.push(...pages(region(PARAM_REGION_PAGES.measuredConfig.first), encodeMeasuredConfig({ vtomOffsetBit }), p.mask));
  }
  return out;
}

function assemble(opts: PackageOptions): Uint8Array {
  const kind = opts.kind ?? 'release';
  if (kind === 'cvm' && opts.arch === 'aarch64') throw new HclError('IGVM_NO_PLATFORM_FOR_ISOLATION', 'aarch64 package: there is no CVM package (snp and tdx are x86_64 only)');
  // Masks one bit per guest config in manifest order, as igvmfilegen merges them.
  const platforms: Platform[] = PACKAGE_ISOLATIONS[kind].map((isolation, i) => ({ isolation, type: platformFor(opts.arch, isolation), mask: 1 << i }));
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
  const layouts = platforms.map((p) => layoutOf(p.isolation));
  const headers: IgvmHeader[] = platforms.map((p) => ({
    kind: 'SUPPORTED_PLATFORM', compatibilityMask: p.mask, highestVtl: 2, platformType: p.type, platformVersion: 1,
    sharedGpaBoundary: hardware(p) ? 1n << BigInt(VTOM_BIT[p.isolation as 'snp' | 'tdx']) : 0n,
  }));
  for (const p of platforms) {
    if (p.isolation === 'snp') headers.push({ kind: 'GUEST_POLICY', policy: SNP_POLICY, compatibilityMask: p.mask });
  }
  // paravisor.rs relocates only the release image; the region is the VSM platform's (its only one),
  // so the VSM VP context it needs (vp 0, vtl 2) survives the loader's isolation filter.
  if (kind === 'release') {
    const l = layouts[0]!;
    headers.push({
      kind: 'RELOCATABLE_REGION', compatibilityMask: platforms[0]!.mask, vpIndex: 0, vtl: 2, flags: RelocationFlags.IS_VTL2 | RelocationFlags.APPLY_PC,
      relocationAlignment: 0x20_0000n, relocationRegionGpa: base, relocationRegionSize: l.used.size, minimumRelocationGpa: MIN_RELOCATION_BASE, maximumRelocationGpa: 1n << 48n,
    });
  }
  headers.push({ kind: 'REQUIRED_MEMORY', gpa: base, compatibilityMask: all, numberOfBytes: Number(size), flags: 1 });

  // Platforms whose layouts agree (SNP and TDX both hold the bounce buffer, VBS does not) share
  // pages; each such group has its own parameter areas, since an area is inserted only once.
  const groups = new Map<bigint, Platform[]>();
  platforms.forEach((p, i) => groups.set(layouts[i]!.kernel.gpa, [...(groups.get(layouts[i]!.kernel.gpa) ?? []), p]));
  [...groups.values()].forEach((members, g) => headers.push(...groupPages(opts, members, layoutOf, g, { kernel, sidecar, initrd })));
  headers.push(...pages(VTL0_CONFIG_GPA[opts.arch], encodeVtl0Config(), all));

  for (const p of platforms) {
    const entry = layoutOf(p.isolation).shim.gpa + BigInt(IMAGE_ENTRY_OFFSET);
    if (p.type === PlatformType.VSM_ISOLATION) headers.push({ kind: 'VP_CONTEXT', gpa: 0n, compatibilityMask: p.mask, vpIndex: 0, reserved: 0, data: encodeVsmContext(vsmRegisters(opts.arch, entry)) });
    if (p.type === PlatformType.SEV_SNP) {
      // The VMSA page sits in the reserved region; the loader treats it as measured VP state.
      headers.push({ kind: 'VP_CONTEXT', gpa: layoutOf(p.isolation).reserved.gpa, compatibilityMask: p.mask, vpIndex: 0, reserved: 0, data: snpVmsa(entry) });
    }
  }
  return writeIgvm({ revision: opts.arch === 'x86_64' ? { version: 1 } : { version: 2, arch: 'aarch64' }, headers });
}
