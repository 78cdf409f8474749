// Sidecar: page layouts and the per-CPU dispatch model.
export { startSidecar, SidecarDispatcher, SimpleVpBackend } from './dispatch.ts';
export type { VpBackend, CpuStatusName, CommandResponse } from './dispatch.ts';
