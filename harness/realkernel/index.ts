// Real-kernel check: boot a kernel DTB on Linux arm64 under qemu and compare with the model.

// setup
export { setupKernel, findAssets, requireAssets, kernelCacheDir } from './setup.ts';
export type { KernelAssets, SetupResult, SetupStep } from './setup.ts';
export { buildInitramfs, initScript, initramfsId, INIT_PATHS, MARK } from './initramfs.ts';
// boot
export { qemuArgsFor, bootDtb, dumpQemuDtb, validateSpec, cpuRanges, qemuBinary } from './qemu.ts';
export type { BootSpec, BootResult, QemuNode } from './qemu.ts';
export { shapeFromDtb, shapeFromFdt, shapeFromTopology, virtMpidr } from './spec.ts';
export type { MachineShape } from './spec.ts';
// report and comparison
export { parseReport, parseSections, parseZoneinfo } from './report.ts';
export type { RealKernelReport, RealNode, ZonePages, Section } from './report.ts';
export { compareWithModel, formatDifferences, walkFiles, MEMORY_RULE } from './compare.ts';
export { diffFdt, isQemuRewritten, memoryRanges, virtLayout, MEMORY_LAYOUT_RULE, VIRT_RAM_BASE, QEMU_REWRITES } from './fdtdiff.ts';
export type { Difference } from './fdtdiff.ts';
// checks
export { runCheck } from './check.ts';
export type { CheckInput, CheckResult } from './check.ts';
export { checkVm, comparisonJson, overlayProcFs, requireAarch64 } from './vmcheck.ts';
export type { CheckableVm, VmCheckOptions } from './vmcheck.ts';

