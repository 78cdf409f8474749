import { ByteReader, ByteWriter } from '../bytes/index.ts';
import { HclError } from '../errors.ts';
import type { GuestMemory } from '../memory/index.ts';

/**
 * Sidecar byte layouts, byte for byte as openhcl sidecar_defs (repr(C), little-endian), each one page:
 * SidecarParams  0x000 hypercall_page u64, 0x008 enable_logging bool, 0x00c node_count u32,
 *                0x010 nodes[128] {memory_base u64, memory_size u64, base_vp u32, vp_count u32},
 *                0xc10 initial_state PerCpuState {per_cpu_state_specified bool, sidecar_starts_cpu [bool; 400]}.
 * SidecarOutput  0x000 error CommandError {len u8, buf [u8; 255]},
 *                0x100 nodes[128] {control_page u64, shmem_pages_base u64, shmem_pages_size u64}.
 * ControlPage    index, base_cpu, cpu_count, request_vector, response_cpu, response_vector,
 *                needs_attention (u32 each), 36 reserved, 0x040 cpu_status u8 × 4032.
 * CommandPage    0x000 command u32, 0x004 has_error u8, 11 pad, 0x010 CpuContextX64 (16 GPRs u64,
 *                512-byte fxsave, 384 reserved), 0x410 intercept HvMessage (256), 0x510 error
 *                CommandError, 0x610 request_data (1024), 0xa10 reserved [u64; 190].
 * Request data   GET/SET_VP_REGISTERS: GetSetVpRegisterRequest {count u16, target_vtl u8, rsvd u8,
 *                status HvStatus u16, rsvd2 [u8; 10]} then HvRegisterAssoc {name u32, pad [u32; 3],
 *                value u128} × count; RUN_VP response RunVpResponse {intercept u8}; TRANSLATE_GVA
 *                request {gvn u64, control_flags u64}, response {status u16, rsvd [u16; 7],
 *                TranslateVirtualAddressExOutputX64 (result_code u32 at +0, gpa_page u64 at +48)}.
 */
export const SIDECAR_MAX_NODES = 128;
/** NUM_CPUS_SUPPORTED_FOR_PER_CPU_STATE: CPUs the initial state can name. */
export const SIDECAR_PER_CPU_STATE_CPUS = 400;
export const PAGE = 4096;

/** Per-CPU status in the control page. */
export const CPU_STATUS = { REMOVED: 0, IDLE: 1, RUN: 2, STOP: 3, REMOVE: 4 } as const;
/** Command page commands. */
export const SIDECAR_COMMAND = { NONE: 0, RUN_VP: 1, GET_VP_REGISTERS: 2, SET_VP_REGISTERS: 3, TRANSLATE_GVA: 4 } as const;

/** Control page field offsets. */
export const CONTROL = { index: 0, baseCpu: 4, cpuCount: 8, requestVector: 12, responseCpu: 16, responseVector: 20, needsAttention: 24, cpuStatus: 64 } as const;
/** Command page field offsets. */
export const COMMAND = { command: 0x0, hasError: 0x4, context: 0x10, intercept: 0x410, error: 0x510, requestData: 0x610, requestDataSize: 1024 } as const;
/** GetSetVpRegisterRequest offsets within request data, and the HvRegisterAssoc entries after it. */
export const REGISTER_REQUEST = { count: 0, targetVtl: 2, status: 4, size: 16, assocSize: 32, assocValue: 16 } as const;
/** Registers one GET/SET request holds: (1024 − 16) / 32 (MAX_GET_SET_VP_REGISTERS). */
export const MAX_GET_SET_VP_REGISTERS = (COMMAND.requestDataSize - REGISTER_REQUEST.size) / REGISTER_REQUEST.assocSize;
/** TranslateGvaResponse offsets within request data. */
export const TRANSLATE_RESPONSE = { status: 0, resultCode: 16, gpaPage: 64, size: 80 } as const;

/** One sidecar node as the shim asks for it. */
export interface SidecarNodeParams {
  memoryBase: bigint;
  memorySize: bigint;
  baseVp: number;
  vpCount: number;
}

/** PerCpuState: when `specified`, `startsCpu[vp]` says whether sidecar starts the VP. */
export interface PerCpuState {
  specified: boolean;
  /** SIDECAR_PER_CPU_STATE_CPUS entries. */
  startsCpu: boolean[];
}

/** What the shim passes to the sidecar kernel. */
export interface SidecarParams {
  hypercallPage: bigint;
  enableLogging: boolean;
  nodes: SidecarNodeParams[];
  initialState: PerCpuState;
}

/** What the sidecar reports back: an error or one control page and shared memory per node. */
export interface SidecarOutput {
  error: string;
  nodes: Array<{ controlPage: bigint; shmemBase: bigint; shmemSize: bigint }>;
}

const bad = (what: string, why: string): HclError => new HclError('SIDECAR_INVALID', `${what}: ${why}`);

/** A PerCpuState that names no CPU (sidecar starts every AP of its nodes). */
export function unspecifiedCpuState(): PerCpuState {
  return { specified: false, startsCpu: new Array<boolean>(SIDECAR_PER_CPU_STATE_CPUS).fill(false) };
}

/**
 * The VPs the sidecar starts (sidecar init.rs): every VP of a node but its base, or, when the
 * initial state is specified, exactly the node's VPs it marks.
 */
export function sidecarStartedVps(p: SidecarParams): number[] {
  const out: number[] = [];
  for (const n of p.nodes) {
    for (let i = 0; i < n.vpCount; i++) if (p.initialState.specified ? p.initialState.startsCpu[n.baseVp + i] === true : i > 0) out.push(n.baseVp + i);
  }
  return out;
}

/** Encodes SidecarParams to one page. */
export function encodeSidecarParams(p: SidecarParams): Uint8Array {
  if (p.nodes.length > SIDECAR_MAX_NODES) throw bad('sidecar params', `${p.nodes.length} nodes exceed ${SIDECAR_MAX_NODES}`);
  if (p.initialState.startsCpu.length !== SIDECAR_PER_CPU_STATE_CPUS) throw bad('sidecar params', `initial state names ${p.initialState.startsCpu.length} cpus, not ${SIDECAR_PER_CPU_STATE_CPUS}`);
  const w = new ByteWriter(PAGE).u64(p.hypercallPage).u8(p.enableLogging ? 1 : 0).zeros(3).u32(p.nodes.length);
  for (let i = 0; i < SIDECAR_MAX_NODES; i++) {
    const n = p.nodes[i];
    if (n === undefined) w.zeros(24);
    else w.u64(n.memoryBase).u64(n.memorySize).u32(n.baseVp).u32(n.vpCount);
  }
  w.u8(p.initialState.specified ? 1 : 0);
  for (const b of p.initialState.startsCpu) w.u8(b ? 1 : 0);
  const out = new Uint8Array(PAGE);
  out.set(w.finish());
  return out;
}

// A Rust bool: 0 or 1, anything else is not a valid value.
function bool(r: ByteReader, what: string): boolean {
  const v = r.u8();
  if (v > 1) throw bad('sidecar params', `${what} byte ${v} is not a bool`);
  return v === 1;
}

/** Decodes SidecarParams; SIDECAR_INVALID on a bad node count, a bool other than 0/1, or truncation. */
export function decodeSidecarParams(bytes: Uint8Array): SidecarParams {
  const r = new ByteReader(bytes, 'sidecar params', 'SIDECAR_INVALID');
  const hypercallPage = r.u64();
  const enableLogging = bool(r, 'enable_logging');
  r.skip(3);
  const count = r.u32();
  if (count > SIDECAR_MAX_NODES) throw bad('sidecar params', `node count ${count} exceeds ${SIDECAR_MAX_NODES}`);
  const nodes: SidecarNodeParams[] = [];
  for (let i = 0; i < SIDECAR_MAX_NODES; i++) {
    const n = { memoryBase: r.u64(), memorySize: r.u64(), baseVp: r.u32(), vpCount: r.u32() };
    if (i < count) nodes.push(n);
  }
  const specified = bool(r, 'per_cpu_state_specified');
  const startsCpu = Array.from({ length: SIDECAR_PER_CPU_STATE_CPUS }, (_, i) => bool(r, `sidecar_starts_cpu[${i}]`));
  return { hypercallPage, enableLogging, nodes, initialState: { specified, startsCpu } };
}

/** Encodes SidecarOutput to one page; the error is cut to 255 bytes (CommandError). */
export function encodeSidecarOutput(o: SidecarOutput): Uint8Array {
  const msg = new TextEncoder().encode(o.error).subarray(0, 255);
  const w = new ByteWriter(PAGE).u8(msg.length).bytes(msg).zeros(255 - msg.length);
  for (let i = 0; i < SIDECAR_MAX_NODES; i++) {
    const n = o.nodes[i];
    if (n === undefined) w.zeros(24);
    else w.u64(n.controlPage).u64(n.shmemBase).u64(n.shmemSize);
  }
  const out = new Uint8Array(PAGE);
  out.set(w.finish());
  return out;
}

/** Decodes SidecarOutput for `nodeCount` nodes. */
export function decodeSidecarOutput(bytes: Uint8Array, nodeCount: number): SidecarOutput {
  const r = new ByteReader(bytes, 'sidecar output', 'SIDECAR_INVALID');
  const len = r.u8();
  const error = new TextDecoder().decode(r.bytes(255).subarray(0, len));
  const nodes: SidecarOutput['nodes'] = [];
  for (let i = 0; i < Math.min(nodeCount, SIDECAR_MAX_NODES); i++) nodes.push({ controlPage: r.u64(), shmemBase: r.u64(), shmemSize: r.u64() });
  return { error, nodes };
}

/**
 * The sidecar image's entry point as the shim calls it: the parameters page at `paramsGpa` in,
 * the output page written at `outputGpa` (openhcl_boot starts the sidecar and then reads its output).
 */
export type SidecarEntry = (memory: GuestMemory, paramsGpa: bigint, outputGpa: bigint) => void;
