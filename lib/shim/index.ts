// openhcl_boot: parameters, host DT parse, decisions, kernel DTB, persisted state, handoff.
export {
  SHIM_PARAMS_OFFSET, SHIM_PARAMS_SIZE, SHIM_IMAGE_SIZE, PARAM_REGION_PAGES, PARAM_REGION_PAGE_COUNT, COMMAND_LINE_MAX,
  HEAP_LAYOUT, DEFAULT_VTL2_BASE, DEFAULT_VTL2_SIZE, ISOLATION_NAMES,
  encodeShimParams, decodeShimParams, encodeCommandLinePage, decodeCommandLinePage,
  encodeMeasuredConfig, decodeMeasuredConfig, defaultLayout,
} from './params.ts';
export type {
  ShimParams, ShimLayout, LayoutOptions, Region, IsolationName, IsolationTypeCode, ParavisorCommandLine, CommandLinePolicy, MeasuredVtl2Config,
} from './params.ts';
export { parseHostDt, IGVM_MEMORY_TYPE, SHIM_LIMITS, COM3_PORT } from './hostdt.ts';
export type { HostDt, HostVmbus } from './hostdt.ts';
export { encodeSlit, decodeSlit } from './slit.ts';
export {
  PERSISTED_MAGIC, encodePersistedPayload, decodePersistedPayload, writePersistedState, readPersistedState,
} from './persisted.ts';
export type { PersistedPayload } from './persisted.ts';
export { buildKernelCommandLine, parseShimOptions, hostIsTrusted, userCommandLine, cmdlineValue, generatedParameters } from './cmdline.ts';
export type { ShimOptions, CmdlineInputs } from './cmdline.ts';
export { planSidecar, splitRuns, sidecarNodePages, SIDECAR_MAX_NODE_CPUS, SIDECAR_RESTORE_MAX_CPUS } from './sidecarplan.ts';
export type { SidecarPlan, SidecarNodePlan, SidecarInputs } from './sidecarplan.ts';
export { MEMORY_VTL_TYPE, decideVtl2Ram, decideMmio, partitionMemory, partitionMmio, topologyDifferences, shimTopology } from './partition.ts';
export type { Vtl2Range, MemoryEntry } from './partition.ts';
export { buildKernelDt, splitMemoryMap } from './kerneldt.ts';
export type { KernelDtInputs, Arm64CpuStatus } from './kerneldt.ts';
export { writeHandoff, readHandoff, HANDOFF_SIZE } from './handoff.ts';
export type { KernelHandoff } from './handoff.ts';
export { runShim } from './run.ts';
export type { ShimResult, RunShimOptions } from './run.ts';
