import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isHclError, type HclErrorCode } from '../../lib/errors.ts';
import { presetConfig } from '../../lib/config/index.ts';
import { PageDataFlags, PlatformType, decodeVsmContext, readIgvm } from '../../lib/igvm/index.ts';
import { cpioFiles, readCpio } from '../../lib/abi/cpio.ts';
import {
  buildPackage, decodeVtl0Config, hostDtb, hostParamsFor, loadIgvm, packageOptionsFor, readImageHeader, IMAGE_ENTRY_OFFSET, IMAGE_VERSIONS,
  type PackageOptions,
} from '../../lib/host/index.ts';
import {
  SHIM_PARAMS_OFFSET, SHIM_PARAMS_SIZE, decodeCommandLinePage, decodeMeasuredConfig, decodeShimParams, PARAM_REGION_PAGES, ISOLATION_NAMES,
} from '../../lib/abi/shim-params.ts';
import { readFdt } from '../../lib/fdt/index.ts';

const BASE: PackageOptions = { arch: 'x86_64', usermodeVersion: '1.7.0', staticCmdline: 'panic=-1 reboot=triple', policy: 'append-chosen' };
const X86 = buildPackage(BASE);
const small = presetConfig('small');

function fails(fn: () => unknown, code: HclErrorCode, says: string): void {
  try {
    fn();
  } catch (e) {
    assert.ok(isHclError(e, code), `expected ${code}, got ${String(e)}`);
    assert.match(e.message, says);
    return;
  }
  assert.unreachable(`expected ${code}`);
}

// vm/loader/manifests: openhcl-x64-release.json has one guest config, isolation "none", which
// igvmfilegen's IgvmLoader::new emits as VSM_ISOLATION; openhcl-x64-cvm-release.json lists snp,
// tdx and vbs (masks 1, 2, 4 in that order); openhcl-aarch64-release.json is "none" again.
const types = (b: Uint8Array): number[] => readIgvm(b).headers.flatMap((h) => (h.kind === 'SUPPORTED_PLATFORM' ? [h.platformType] : []));
const CVM = buildPackage({ ...BASE, kind: 'cvm' });

test('release: one VSM platform (v1 x64, v2 AArch64); cvm: SNP, TDX and VSM', () => {
  assert.equal(types(X86), [PlatformType.VSM_ISOLATION]);
  assert.equal(readIgvm(X86).revision, { version: 1 });
  assert.equal(types(CVM), [PlatformType.SEV_SNP, PlatformType.TDX, PlatformType.VSM_ISOLATION]);
  const arm = readIgvm(buildPackage({ ...BASE, arch: 'aarch64' }));
  assert.equal(arm.revision, { version: 2, arch: 'aarch64' });
  assert.equal(types(buildPackage({ ...BASE, arch: 'aarch64' })), [PlatformType.VSM_ISOLATION]);
  fails(() => buildPackage({ ...BASE, arch: 'aarch64', kind: 'cvm' }), 'IGVM_NO_PLATFORM_FOR_ISOLATION', 'aarch64 package: there is no CVM package');
});

test('a config boots the release package without isolation and the CVM package (at its VTL2 base) with any', () => {
  for (const isolation of ISOLATION_NAMES) {
    const cfg = presetConfig(isolation === 'snp' || isolation === 'tdx' ? 'snp' : 'small');
    cfg.isolation = isolation;
    const o = packageOptionsFor(cfg);
    assert.is(o.kind, isolation === 'none' ? undefined : 'cvm', isolation);
    assert.equal(o.vtl2, isolation === 'none' ? undefined : { base: cfg.vtl2.base, size: cfg.vtl2.size });
  }
});

// openvmm_core vm_loaders/igvm.rs: `read_igvm_file` is IgvmFile::new_from_binary(file, Some(filter)) with
// the filter Vbs for no isolation and VBS, Snp, Tdx; readIgvm's isolationFilter models it, including
// validate_directive_headers' NoMatchingVpContext after the filtered headers are dropped.
test('every package passes the crate read with every isolation filter (no NoMatchingVpContext)', () => {
  const pkgs = [X86, CVM, buildPackage({ ...BASE, arch: 'aarch64' }), buildPackage(packageOptionsFor(presetConfig('snp'))), buildPackage(packageOptionsFor(presetConfig('numa')))];
  for (const b of pkgs) {
    for (const filter of [PlatformType.NATIVE, PlatformType.VSM_ISOLATION, PlatformType.SEV_SNP, PlatformType.TDX]) {
      assert.ok(readIgvm(b, { isolationFilter: filter }).headers.length > 0);
    }
  }
  // The relocation region belongs to the VSM platform whose VP context (vp 0, vtl 2) it relocates.
  const f = readIgvm(X86);
  const reloc = f.headers.find((h) => h.kind === 'RELOCATABLE_REGION');
  const ctx = f.headers.find((h) => h.kind === 'VP_CONTEXT');
  assert.ok(reloc?.kind === 'RELOCATABLE_REGION' && ctx?.kind === 'VP_CONTEXT');
  assert.is(reloc.compatibilityMask, ctx.compatibilityMask);
  assert.is(reloc.vtl, decodeVsmContext(ctx.data)[0]?.vtl);
  // paravisor.rs relocates only without memory_page_base and without isolation: the CVM package has no region.
  assert.not.ok(readIgvm(CVM).headers.some((h) => h.kind === 'RELOCATABLE_REGION'));
});

// paravisor.rs load_openhcl_x64: `persisted_region_base = offset` (the memory start), 2 MiB
// (PERSISTED_REGION_SIZE); then a 2 MiB bounce buffer when SNP/TDX; then the kernel, imported with
// `kernel_acceptance` = Shared for SNP/TDX; the initrd uses the same acceptance.
test('the persisted-state region opens VTL2 (2 MiB), the kernel follows it (after the bounce buffer on SNP/TDX)', () => {
  for (const isolation of ISOLATION_NAMES) {
    const cfg = presetConfig(isolation === 'snp' || isolation === 'tdx' ? 'snp' : 'small');
    cfg.isolation = isolation;
    const l = loadIgvm(buildPackage(packageOptionsFor(cfg)), hostParamsFor(cfg));
    const p = decodeShimParams(l.memory.read(l.shimBase + BigInt(SHIM_PARAMS_OFFSET), SHIM_PARAMS_SIZE));
    const base = BigInt(cfg.vtl2.base);
    assert.is(l.shimBase + p.persistedStateRegionOffset, base, isolation);
    assert.is(p.persistedStateRegionSize, 0x20_0000n);
    const bounce = isolation === 'snp' || isolation === 'tdx' ? 0x20_0000n : 0n;
    assert.is(p.bounceBufferSize, bounce);
    assert.is(l.shimBase + p.kernelEntryOffset - BigInt(IMAGE_ENTRY_OFFSET), base + 0x20_0000n + bounce, isolation);
  }
  const f = readIgvm(CVM);
  const kernelPages = (mask: number): number[] => f.headers.flatMap((h) => (h.kind === 'PAGE_DATA' && (h.compatibilityMask & mask) !== 0 && readsKernel(h.data) ? [h.flags] : []));
  assert.equal(kernelPages(1), [PageDataFlags.SHARED], 'snp kernel header page is shared');
  assert.equal(kernelPages(2), [PageDataFlags.SHARED], 'tdx');
  assert.equal(kernelPages(4), [0], 'vbs');
});

function readsKernel(data: Uint8Array): boolean {
  return data.length > 8 && new TextDecoder().decode(data.subarray(0, 8)) === 'HCLKERNL';
}

// loader_defs paravisor.rs ParavisorMeasuredVtl0Config::MAGIC 0x4F48434C56544C30 at
// PARAVISOR_VTL0_MEASURED_CONFIG_BASE_PAGE_X64 (0) / _AARCH64 (16 << 8), imported measured.
test('the VTL0 measured config page (OHCLVTL0) is loaded at page 0 (x86) and 16 MiB (AArch64)', () => {
  const x = loadIgvm(X86, hostParamsFor(small));
  assert.equal([...x.memory.read(0n, 8)], [0x30, 0x4c, 0x54, 0x56, 0x4c, 0x43, 0x48, 0x4f]);
  assert.equal(decodeVtl0Config(x.memory.read(0n, 4096)), { uefi: false, pcat: false, linuxDirect: false });
  const armCfg = presetConfig('arm64-virt');
  const a = loadIgvm(buildPackage(packageOptionsFor(armCfg)), hostParamsFor(armCfg));
  assert.is(decodeVtl0Config(a.memory.read(16n << 20n, 4096)).uefi, false);
  fails(() => decodeVtl0Config(new Uint8Array(4096)), 'IGVM_LOAD_INVALID', 'magic 0x0 is not OHCLVTL0');
});

for (const isolation of ISOLATION_NAMES) {
  test(`loaded for ${isolation}: shim parameters at shim base + SHIM_PARAMS_OFFSET name the isolation and point at the images`, () => {
    const cfg = presetConfig(isolation === 'snp' || isolation === 'tdx' ? 'snp' : 'small');
    cfg.isolation = isolation;
    const pkg = buildPackage(packageOptionsFor(cfg, '2.0.1'));
    const l = loadIgvm(pkg, hostParamsFor(cfg));
    const p = decodeShimParams(l.memory.read(l.shimBase + BigInt(SHIM_PARAMS_OFFSET), SHIM_PARAMS_SIZE));
    assert.is(l.shimBase + p.memoryStartOffset, BigInt(cfg.vtl2.base));
    // paravisor.rs ShimParamsRaw.supported_isolation_type: None and Vbs are VBS (1), Snp 2, Tdx 3.
    assert.is(p.supportedIsolationType, { none: 1, vbs: 1, snp: 2, tdx: 3 }[isolation]);
    const at = (off: bigint): bigint => l.shimBase + off;
    assert.is(readImageHeader(l.memory.read(at(p.kernelEntryOffset) - BigInt(IMAGE_ENTRY_OFFSET), 256)).version, IMAGE_VERSIONS.kernel);
    assert.is(readImageHeader(l.memory.read(at(p.sidecarOffset), 256)).kind, 'sidecar');
    const files = cpioFiles(readCpio(l.memory.read(at(p.initrdOffset), Number(p.initrdSize))));
    assert.match(new TextDecoder().decode(files.get('bin/openvmm_hcl')), 'version=2.0.1');
    assert.ok(files.has('underhill-init'));
    assert.equal(decodeCommandLinePage(l.memory.read(at(p.cmdlineOffset), 4096)), { policy: cfg.cmdline.policy, line: cfg.cmdline.static });
    const region = at(p.parameterRegionOffset);
    const dt = l.memory.read(region + BigInt(PARAM_REGION_PAGES.deviceTree.first * 4096), PARAM_REGION_PAGES.deviceTree.count * 4096);
    assert.equal(readFdt(dt), readFdt(hostDtb(cfg)));
    const vtom = decodeMeasuredConfig(l.memory.read(region + BigInt(PARAM_REGION_PAGES.measuredConfig.first * 4096), 4096)).vtomOffsetBit;
    assert.is(vtom, isolation === 'snp' ? 46 : isolation === 'tdx' ? 47 : 0);
  });
}

test('the VP context starts VP 0 at the relocated shim entry', () => {
  const vsm = loadIgvm(X86, hostParamsFor(small));
  assert.is(vsm.platform, PlatformType.VSM_ISOLATION);
  assert.is(new DataView(decodeVsmContext(vsm.vpContext!)[0]!.value.buffer).getBigUint64(0, true), vsm.shimBase + BigInt(IMAGE_ENTRY_OFFSET));
  assert.ok(vsm.shimBase > BigInt(small.vtl2.base) && vsm.shimBase < BigInt(small.vtl2.base + small.vtl2.size));
});

test('host parameters do not change the measurement; the static command line and usermode do', () => {
  const base = loadIgvm(X86, hostParamsFor(small)).measurement;
  const other = presetConfig('small');
  other.cmdline.host = 'loglevel=9 something_else=1';
  other.entropy = 'ff'.repeat(32);
  other.vps.pop();
  assert.is(loadIgvm(X86, { ...hostParamsFor(other), slit: new Uint8Array(0) }).measurement, base);
  assert.is(loadIgvm(X86, { ...hostParamsFor(small), vtl2: { base: 0x1_4000_0000, size: small.vtl2.size } }).measurement, base);
  assert.is.not(loadIgvm(buildPackage({ ...BASE, staticCmdline: 'panic=-1' }), hostParamsFor(small)).measurement, base);
  assert.is.not(loadIgvm(buildPackage({ ...BASE, usermodeVersion: '1.7.1' }), hostParamsFor(small)).measurement, base);
  // No isolation and VBS load the same (VSM) platform of the release package.
  assert.is(loadIgvm(X86, { ...hostParamsFor(small), isolation: 'vbs' }).measurement, base);
});

test('same options give the same bytes', () => {
  assert.equal(buildPackage(BASE), X86);
});

test('packages kept by options: fresh copies, every option in the key, same bytes after eviction', () => {
  const first = buildPackage(BASE);
  first.fill(0);
  assert.equal(buildPackage(BASE), X86, 'a caller changing its copy does not change the kept package');
  const variants: PackageOptions[] = [
    { ...BASE, arch: 'aarch64' }, { ...BASE, usermodeVersion: '1.8.0' }, { ...BASE, staticCmdline: 'panic=1' },
    { ...BASE, policy: 'static' }, { ...BASE, kind: 'cvm' }, { ...BASE, vtl2: { base: 0x1000_0000, size: 0x400_0000 } },
    { ...BASE, kind: 'cvm', vtl2: { base: 0x1000_0000, size: 0x400_0000 } }, { ...BASE, kind: 'cvm', vtl2: { base: 0x1000_0000, size: 0x800_0000 } },
    { ...BASE, vtl2: { base: 0x1000_0000, size: 0x800_0000 } },
  ];
  // The base package is asked for right before each variant, so a key missing an option would
  // hand the variant the base package.
  const bytes = variants.map((v) => (buildPackage(BASE), buildPackage(v)));
  bytes.forEach((b, i) => {
    assert.not.equal(b, X86, `variant ${i} differs from the base package`);
    bytes.slice(0, i).forEach((other, j) => assert.not.equal(b, other, `variants ${j} and ${i} differ`));
  });
  // More variants than the cache keeps: building them all again starts from scratch for the first.
  variants.forEach((v, i) => assert.equal(buildPackage(v), bytes[i], `variant ${i} again`));
});

const LOAD_ERRORS: Array<{ name: string; pkg: () => Uint8Array; host: () => Parameters<typeof loadIgvm>[1]; code: HclErrorCode; says: string }> = [
  { name: 'no platform for the isolation', pkg: () => X86, host: () => ({ ...hostParamsFor(small), isolation: 'snp' }), code: 'IGVM_NO_PLATFORM_FOR_ISOLATION', says: 'no platform for snp isolation' },
  { name: 'relocation below the default base', pkg: () => X86, host: () => ({ ...hostParamsFor(small), vtl2: { base: 0x400_0000, size: small.vtl2.size } }), code: 'IGVM_LOAD_INVALID', says: 'outside the image\'s relocation window 0x8000000' },
  { name: 'snp image cannot move', pkg: () => CVM, host: () => ({ ...hostParamsFor(small), isolation: 'snp' }), code: 'IGVM_LOAD_INVALID', says: 'cannot move to host vtl2 base 0x80000000' },
  { name: 'relocation alignment', pkg: () => X86, host: () => ({ ...hostParamsFor(small), vtl2: { base: small.vtl2.base + 0x1000, size: small.vtl2.size } }), code: 'IGVM_LOAD_INVALID', says: 'not aligned' },
  { name: 'vtl2 too small', pkg: () => X86, host: () => ({ ...hostParamsFor(small), vtl2: { base: small.vtl2.base, size: 0x10_0000 } }), code: 'IGVM_LOAD_INVALID', says: 'below the image\'s required' },
  { name: 'device tree too large', pkg: () => X86, host: () => ({ ...hostParamsFor(small), hostDtb: new Uint8Array(0x40001) }), code: 'IGVM_PARAMETER_DOES_NOT_FIT', says: 'device_tree parameter' },
  { name: 'broken file', pkg: () => X86.slice(0, 100), host: () => hostParamsFor(small), code: 'IGVM_INVALID_FIXED_HEADER', says: 'does not match file length 100' },
];
for (const c of LOAD_ERRORS) {
  test(`loadIgvm refuses: ${c.name}`, () => {
    try {
      loadIgvm(c.pkg(), c.host());
    } catch (e) {
      assert.ok(isHclError(e), String(e));
      assert.is(e.code, c.code);
      assert.match(e.message, c.says);
      return;
    }
    assert.unreachable('expected an error');
  });
}

test.run();
