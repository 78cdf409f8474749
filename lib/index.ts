// hclckpt's public API: named exports grouped by concern, no `export *`. Each folder's index.ts
// holds that folder's full surface; this file is what a program embedding the engine needs.
// The CLI and the harness (boot pipeline, servicing cycles, workload) live outside lib/.

// ---- errors and fault points ----
/** HclError with a stable code from the closed list ERROR_CODES; isHclError checks the code. */
export { HclError, isHclError, ERROR_CODES, type HclErrorCode } from './errors.ts';
/** The user-facing fault points (HCLCKPT_FAULT), read in one place. */
export { faultActive, FAULT_NAMES, type FaultName } from './faults.ts';

// ---- VM configuration ----
/** Load, validate and override a VmConfig; presets; the topology a config implies. */
export {
  loadConfig, validateConfig, configErrors, applyOverrides, presetConfig, PRESETS, topologyFromConfig,
  type VmConfig, type Topology, type Override, type ConfigFieldError,
} from './config/index.ts';

// ---- formats ----
/** Bounds-checked little-endian reader/writer and the hashes snapshots use. */
export { ByteReader, ByteWriter, crc32, sha256, sha256Hex } from './bytes/index.ts';
/** Sparse guest physical memory, the medium the stages hand bytes over in. */
export { GuestMemory, PAGE_SIZE } from './memory/index.ts';
/** Flattened device trees: read, write, build, print as DTS. */
export { readFdt, writeFdt, printDts, fdtNode, prop, findNode, type Fdt, type FdtNode } from './fdt/index.ts';
/** IGVM files (igvm crate 0.4 compatible): read, write, JSON form, summary. */
export { readIgvm, writeIgvm, igvmToJson, igvmFromJson, summarizeIgvm, type IgvmFile } from './igvm/index.ts';

// ---- byte contracts between stages ----
/** Shim parameters, command line page and the default VTL2 layout (host → shim). */
export { encodeShimParams, decodeShimParams, defaultLayout, type ShimParams, type ShimLayout } from './abi/index.ts';
/** The shim → kernel handoff record, and the shim's persisted-state header and payload. */
export {
  readHandoff, writeHandoff, encodePersistedPayload, decodePersistedPayload, type KernelHandoff, type PersistedPayload,
} from './abi/index.ts';
/** SLIT, sidecar pages, cpio initrds, hvdef register codes, and the kernel's /proc view. */
export {
  encodeSlit, decodeSlit, encodeSidecarParams, decodeSidecarParams, readCpio, writeCpio, cpioFiles, HV_REGISTER_CODE,
  type SidecarParams, type SidecarOutput, type ProcFs,
} from './abi/index.ts';

// ---- stages (harness/pipeline.ts wires them in order) ----
/** Host: builds the IGVM package and host parameters, loads them into guest memory. */
export { buildPackage, loadIgvm, hostParamsFor, packageOptionsFor, type LoadedIgvm } from './host/index.ts';
/** openhcl_boot: host DT in, kernel DT, command line and handoff out. */
export { runShim, type ShimResult } from './shim/index.ts';
/** The sidecar kernel: its entry point and per-CPU command dispatch. */
export { enterSidecar, SidecarDispatcher, type VpBackend } from './sidecar/index.ts';
/** The VTL2 Linux kernel: boots from the handoff, exposes /proc and /sys. */
export { bootKernel, type Kernel } from './kernel/index.ts';
/** openvmm_hcl: discovery from /proc, topology checks, the state units. */
export { discover, checkTopology, compareTopology, createUnits, type Discovered, type HclUnits } from './hcl/index.ts';
/** The hypervisor's per-VP registers, saved beside openvmm_hcl's state. */
export { HvPartition, type HvState } from './hv/index.ts';

// ---- saved state ----
/** Unit machinery: descriptors and save ranks, the registry class, canonical codec, ordered save/restore. */
export {
  ServicingController, UnitRegistry, SAVE_RANK, encodeCanonical, decodeCanonical, downgrade,
  type UnitDescriptor, type StateUnit, type ServicingState, type InitState,
} from './state/index.ts';
/** A snapshot's parts: names, encode and decode, and the registry of units it may hold. */
export {
  PART, encodeParts, decodeParts, decodeSnapshot, snapshotInfo, defaultRegistry,
  type SnapshotInfo, type DecodedSnapshot, type DecodedParts,
} from './snapshot/index.ts';

// ---- store and diff ----
/** The snapshot store on LevelDB, and `.hclsnap` archives. */
export {
  openStore, SnapshotStore, readArchive, writeArchive, type Manifest, type Snapshot, type PartInput, type OpenOptions,
} from './store/index.ts';
/** Snapshot diffs and their renderers, and the schema compatibility check. */
export {
  diffSnapshots, renderText, renderUnified, diffToJson, checkSchemaCompat, schemaDumpWithReach, type SnapshotDiff, type SchemaReport,
} from './diff/index.ts';
