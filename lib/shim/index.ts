// openhcl_boot: host DT parse, decisions, kernel DTB and command line, the run (its byte contracts: lib/abi).
export { parseHostDt, SHIM_LIMITS, COM3_PORT } from './hostdt.ts';
export type { HostDt, HostVmbus } from './hostdt.ts';
export { buildKernelCommandLine, parseShimOptions, hostIsTrusted, userCommandLine, generatedParameters } from './cmdline.ts';
export type { ShimOptions, CmdlineInputs } from './cmdline.ts';
export { planSidecar, splitRuns, sidecarNodePages, SIDECAR_MAX_NODE_CPUS, SIDECAR_RESTORE_MAX_CPUS } from './sidecarplan.ts';
export type { SidecarPlan, SidecarNodePlan, SidecarInputs } from './sidecarplan.ts';
export { MEMORY_VTL_TYPE, decideVtl2Ram, decideMmio, partitionMemory, partitionMmio, shimTopology } from './partition.ts';
export type { Vtl2Range, MemoryEntry } from './partition.ts';
export { buildKernelDt, splitMemoryMap } from './kerneldt.ts';
export type { KernelDtInputs, Arm64CpuStatus } from './kerneldt.ts';
export { runShim } from './run.ts';
export { topologyFromPersisted, mergedVtl2Ram, shimPanic } from './restore.ts';
export type { PersistedTopology } from './restore.ts';
export type { ShimResult, RunShimOptions } from './run.ts';
