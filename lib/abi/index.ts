// Byte contracts shared by two stages, one file each (OpenVMM keeps these apart from the stages
// as loader_defs / sidecar_defs). Stages import these, never each other.

// shim parameters: host (IGVM build) → shim
export {
  SHIM_PARAMS_OFFSET, SHIM_PARAMS_SIZE, SHIM_IMAGE_SIZE, PARAM_REGION_PAGES, PARAM_REGION_PAGE_COUNT, COMMAND_LINE_MAX,
  HEAP_LAYOUT, DEFAULT_VTL2_BASE, DEFAULT_VTL2_SIZE, ISOLATION_NAMES, PERSISTED_REGION_SIZE,
  encodeShimParams, decodeShimParams, encodeCommandLinePage, decodeCommandLinePage,
  encodeMeasuredConfig, decodeMeasuredConfig, defaultLayout,
} from './shim-params.ts';
export type {
  ShimParams, ShimLayout, LayoutOptions, Region, IsolationName, IsolationTypeCode, ParavisorCommandLine, CommandLinePolicy, MeasuredVtl2Config,
} from './shim-params.ts';

// host device tree: host → shim
export { IGVM_MEMORY_TYPE } from './hostdt.ts';

// SLIT (NUMA distances in the parameter region): host → shim
export { encodeSlit, decodeSlit } from './slit.ts';

// persisted state (header + payload in VTL2 memory): shim → shim after servicing
export {
  PERSISTED_MAGIC, PERSISTED_STATE_PAGES, MEMORY_VTL_TYPE, isVtl2RamType, encodePersistedPayload, decodePersistedPayload,
  persistedPlacement, writePersistedState, readPersistedState,
} from './persisted.ts';
export type { PersistedPayload, PersistedPlacement } from './persisted.ts';
export { decodePersistedPart, withPersistedRanges, PERSISTED_PART_FORMAT } from './persisted-legacy.ts';
export type { PersistedPart } from './persisted-legacy.ts';
export { SAVED_STATE_DESC } from './persisted-proto.ts';

// handoff record: shim → kernel
export { writeHandoff, readHandoff, HANDOFF_SIZE } from './handoff.ts';
export type { KernelHandoff } from './handoff.ts';

// sidecar pages: shim → sidecar, sidecar → openvmm_hcl
export {
  CPU_STATUS, SIDECAR_COMMAND, CONTROL, COMMAND, REGISTER_REQUEST, MAX_GET_SET_VP_REGISTERS, TRANSLATE_RESPONSE,
  SIDECAR_MAX_NODES, SIDECAR_PER_CPU_STATE_CPUS, PAGE as SIDECAR_PAGE,
  encodeSidecarParams, decodeSidecarParams, encodeSidecarOutput, decodeSidecarOutput, sidecarStartedVps, unspecifiedCpuState,
} from './sidecar-pages.ts';
export type { SidecarParams, SidecarNodeParams, SidecarOutput, SidecarEntry, PerCpuState } from './sidecar-pages.ts';

// hvdef register codes: register hypercalls (sidecar commands) → hypervisor
export { HV_REGISTER_CODE } from './hvdef.ts';

// cpio (newc initrd): host → kernel
export { readCpio, writeCpio, encodeCpio, cpioFiles, S_IFREG, S_IFDIR } from './cpio.ts';
export type { CpioEntry } from './cpio.ts';

// procfs view: kernel → openvmm_hcl
export { readText, procfsNotFound } from './procfs.ts';
export type { ProcFs } from './procfs.ts';
