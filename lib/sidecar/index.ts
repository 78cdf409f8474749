// Sidecar: its entry point and the per-CPU dispatch model (page layouts: abi/sidecar-pages.ts).
export { startSidecar, enterSidecar, SidecarDispatcher, SimpleVpBackend, HV_STATUS_INVALID_PARAMETER } from './dispatch.ts';
export type { VpBackend, CpuStatusName, CommandResponse } from './dispatch.ts';
