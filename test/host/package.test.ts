import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isHclError, type HclErrorCode } from '../../lib/errors.ts';
import { presetConfig } from '../../lib/config/index.ts';
import { PlatformType, decodeNativeContext, decodeVsmContext, readIgvm } from '../../lib/igvm/index.ts';
import { cpioFiles, readCpio } from '../../lib/abi/cpio.ts';
import {
  buildPackage, hostDtb, hostParamsFor, loadIgvm, packageOptionsFor, readImageHeader, IMAGE_ENTRY_OFFSET, IMAGE_VERSIONS,
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

test('one SUPPORTED_PLATFORM per isolation; x86 is a v1 file, aarch64 v2 with the AArch64 arch', () => {
  const types = (b: Uint8Array): number[] => readIgvm(b).headers.flatMap((h) => (h.kind === 'SUPPORTED_PLATFORM' ? [h.platformType] : []));
  assert.equal(types(X86), [PlatformType.NATIVE, PlatformType.VSM_ISOLATION, PlatformType.SEV_SNP, PlatformType.TDX]);
  assert.equal(types(buildPackage({ ...BASE, isolations: ['vbs', 'snp'] })), [PlatformType.VSM_ISOLATION, PlatformType.SEV_SNP]);
  const arm = readIgvm(buildPackage({ ...BASE, arch: 'aarch64' }));
  assert.equal(arm.revision, { version: 2, arch: 'aarch64' });
  assert.equal(types(buildPackage({ ...BASE, arch: 'aarch64' })), [PlatformType.VSM_ISOLATION]);
  assert.equal(readIgvm(X86).revision, { version: 1 });
});

test('aarch64 refuses hardware isolation and two isolations on one platform', () => {
  fails(() => buildPackage({ ...BASE, arch: 'aarch64', isolations: ['snp'] }), 'IGVM_NO_PLATFORM_FOR_ISOLATION', 'aarch64 package: no platform for snp');
  fails(() => buildPackage({ ...BASE, arch: 'aarch64', isolations: ['none', 'vbs'] }), 'IGVM_WRITE_INVALID', 'shares its platform');
});

for (const isolation of ISOLATION_NAMES) {
  test(`loaded for ${isolation}: shim parameters at shim base + SHIM_PARAMS_OFFSET name the isolation and point at the images`, () => {
    const cfg = presetConfig(isolation === 'snp' || isolation === 'tdx' ? 'snp' : 'small');
    cfg.isolation = isolation;
    const pkg = buildPackage(packageOptionsFor(cfg, '2.0.1'));
    const l = loadIgvm(pkg, hostParamsFor(cfg));
    assert.is(l.shimBase, BigInt(cfg.vtl2.base));
    const p = decodeShimParams(l.memory.read(l.shimBase + BigInt(SHIM_PARAMS_OFFSET), SHIM_PARAMS_SIZE));
    assert.is(p.supportedIsolationType, ISOLATION_NAMES.indexOf(isolation));
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
  const native = loadIgvm(X86, hostParamsFor(small));
  assert.is(decodeNativeContext(native.vpContext!).rip, BigInt(small.vtl2.base + IMAGE_ENTRY_OFFSET));
  const vsm = loadIgvm(X86, { ...hostParamsFor(small), isolation: 'vbs' });
  assert.is(new DataView(decodeVsmContext(vsm.vpContext!)[0]!.value.buffer).getBigUint64(0, true), BigInt(small.vtl2.base + IMAGE_ENTRY_OFFSET));
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
  assert.is.not(loadIgvm(X86, { ...hostParamsFor(small), isolation: 'vbs' }).measurement, base);
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
    { ...BASE, policy: 'static' }, { ...BASE, isolations: ['none'] }, { ...BASE, isolations: ['vbs', 'none'] },
    { ...BASE, isolations: ['snp'], vtl2: { base: 0x1000_0000, size: 0x400_0000 } }, { ...BASE, isolations: ['snp'], vtl2: { base: 0x1000_0000, size: 0x800_0000 } },
    { ...BASE, isolations: ['snp'] },
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
  { name: 'no platform for the isolation', pkg: () => buildPackage({ ...BASE, isolations: ['none'] }), host: () => ({ ...hostParamsFor(small), isolation: 'snp' }), code: 'IGVM_NO_PLATFORM_FOR_ISOLATION', says: 'no platform for snp isolation' },
  { name: 'snp image cannot move', pkg: () => X86, host: () => ({ ...hostParamsFor(small), isolation: 'snp' }), code: 'IGVM_LOAD_INVALID', says: 'cannot move to host vtl2 base 0x80000000' },
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
