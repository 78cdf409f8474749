// The VTL2 Linux kernel stage: DTB, command line and initrd in; a read-only /proc and /sys out.

// boot
export { bootKernel } from './boot.ts';
export type { Kernel } from './boot.ts';
export { readHardware, detectArch } from './hardware.ts';
export type { KernelHardware, KernelCpu, KernelMemory } from './hardware.ts';

// procfs
export { MemProcFs } from './memfs.ts';
export type { LazyDir, MemFile } from './memfs.ts';
export { nodeMeminfo, procMeminfo } from './meminfo.ts';

// formats
export { formatCpuList, parseCpuList } from './cpulist.ts';
export { splitCmdline, initArgs, isKernelParam, KERNEL_PARAMS } from './cmdline.ts';
export type { CmdlineArg, InitArgs } from './cmdline.ts';
