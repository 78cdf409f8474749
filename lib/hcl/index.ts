// openvmm_hcl: discovery from the kernel's ProcFs, options, topology invariants, state units.

// discovery
export { discover, MEMORY_VTL_TYPES, FDT_PATH, ENTROPY_PATH } from './discover.ts';
export type {
  Discovered,
  IsolationType,
  MemoryAllocationMode,
  MemoryVtlType,
  PartitionMemoryEntry,
  SidecarNodeInfo,
} from './discover.ts';

// options
export { parseHclOptions, initEnvFromCmdline, splitCmdline } from './options.ts';
export type { HclOptions, HclTestConfig, SidecarMode, GpaPoolConfig } from './options.ts';

// topology invariants
export { checkTopology, topologyViolations, compareTopology, usesX2apic } from './invariants.ts';
export { nvmeInterruptState, nvmeIoQueues, persistedInfo } from './persisted-info.ts';
export type { IoQueueIrq, VpInterruptState } from './persisted-info.ts';

// state units
export { createUnits, nvmeKeepAliveOn, UNIT_DESCRIPTORS, UNIT_SET_HISTORY } from './units/index.ts';
export type { HclUnits, NvmeState } from './units/index.ts';
export { GuestRingPages, Vtl0RingsSchema, legacyRings, withLegacyRings, gpadlPages, VMBUS_UNIT_V3 } from './units/index.ts';
export type { Vtl0Rings, VmbusStateV3 } from './units/index.ts';
export { PARTITION_UNIT, VP_OFFSET } from './units/index.ts';
export type { PartitionState } from './units/index.ts';
