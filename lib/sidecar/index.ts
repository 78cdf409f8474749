// Sidecar: page layouts and the per-CPU dispatch model.
export {
  CPU_STATUS, SIDECAR_COMMAND, CONTROL, COMMAND, SIDECAR_MAX_NODES, SIDECAR_MAX_CPUS,
  encodeSidecarParams, decodeSidecarParams, encodeSidecarOutput, decodeSidecarOutput,
} from '../abi/sidecar-pages.ts';
export type { SidecarParams, SidecarNodeParams, SidecarOutput } from '../abi/sidecar-pages.ts';
export { startSidecar, SidecarDispatcher, SimpleVpBackend } from './dispatch.ts';
export type { VpBackend, CpuStatusName, CommandResponse } from './dispatch.ts';
