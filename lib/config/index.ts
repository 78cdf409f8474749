// VmConfig: schema, validation with field paths, presets, loading, and the topology it implies.

// schema and types
export { VmConfigSchema, type VmConfig, type Range, ChannelKindSchema } from './schema.ts';
export type { Topology, TopoRange, TopoVp, TopoNode } from './topology.ts';
// validation
export { validateConfig, configErrors, pointerToPath } from './validate.ts';
export { AARCH64_RAM_BASE, GICR_STRIDE, vnodeAt, type ConfigFieldError } from './rules.ts';
// loading
export { loadConfig, parseJson, jsonErrorOffset, configJsonSchema } from './load.ts';
// overrides (`--set path=value`)
export { applyOverrides, parseSet, splitPath, type Override } from './overrides.ts';
// presets and derived topology
export { PRESETS, presetConfig } from './presets.ts';
export { topologyFromConfig, splitMmio, vtl2MmioCarve, vtl2RamOf, bootsCvmPackage, VTL2_MMIO_MIN, VTL2_MMIO_MAX, HOST_VTL2_MMIO_SIZE } from './derive.ts';
export { allocateVtl2Ram, subtractVtl2, type NodeRange } from './vtl2-alloc.ts';
