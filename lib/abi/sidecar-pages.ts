import { ByteReader, ByteWriter } from '../bytes/index.ts';
import { HclError } from '../errors.ts';
import type { GuestMemory } from '../memory/index.ts';

/**
 * Sidecar byte layouts (openhcl sidecar_defs), little-endian, each one page:
 * SidecarParams  0x000 hypercall_page u64, 0x008 enable_logging u32, 0x00c node_count u32,
 *                0x010 nodes[128] {memory_base u64, memory_size u64, base_vp u32, vp_count u32},
 *                0xc10 start_in_sidecar bitmap (2048 bits; model form of the initial CPU state).
 * SidecarOutput  0x000 error {len u8, 127 bytes}, 0x080 nodes[128] {control_page u64, shmem_base u64, shmem_size u64}.
 * ControlPage    index, base_cpu, cpu_count, request_vector, response_cpu, response_vector,
 *                needs_attention (u32 each), 36 reserved, 0x040 cpu_status u8 × 4032.
 * CommandPage    0x000 command u32, 0x004 has_error u8, 11 pad, 0x010 cpu context (16 GPRs u64 +
 *                512-byte fxsave), 0x290 intercept message (256), 0x390 error {len u8, 255},
 *                0x490 request_data (1024), rest reserved.
 */
export const SIDECAR_MAX_NODES = 128;
export const SIDECAR_MAX_CPUS = 2048;
export const PAGE = 4096;

/** Per-CPU status in the control page. */
export const CPU_STATUS = { REMOVED: 0, IDLE: 1, RUN: 2, STOP: 3, REMOVE: 4 } as const;
/** Command page commands. */
export const SIDECAR_COMMAND = { NONE: 0, RUN_VP: 1, GET_VP_REGISTERS: 2, SET_VP_REGISTERS: 3, TRANSLATE_GVA: 4 } as const;

/** Control page field offsets. */
export const CONTROL = { index: 0, baseCpu: 4, cpuCount: 8, requestVector: 12, responseCpu: 16, responseVector: 20, needsAttention: 24, cpuStatus: 64 } as const;
/** Command page field offsets. */
export const COMMAND = { command: 0x0, hasError: 0x4, context: 0x10, intercept: 0x290, error: 0x390, requestData: 0x490, requestDataSize: 1024 } as const;

/** One sidecar node as the shim asks for it. */
export interface SidecarNodeParams {
  memoryBase: bigint;
  memorySize: bigint;
  baseVp: number;
  vpCount: number;
}

/** What the shim passes to the sidecar kernel. */
export interface SidecarParams {
  hypercallPage: bigint;
  enableLogging: boolean;
  nodes: SidecarNodeParams[];
  /** VP indexes sidecar starts (the rest start in Linux). */
  startInSidecar: number[];
}

/** What the sidecar reports back: an error or one control page and shared memory per node. */
export interface SidecarOutput {
  error: string;
  nodes: Array<{ controlPage: bigint; shmemBase: bigint; shmemSize: bigint }>;
}

const bad = (what: string, why: string): HclError => new HclError('SIDECAR_INVALID', `${what}: ${why}`);

/** Encodes SidecarParams to one page. */
export function encodeSidecarParams(p: SidecarParams): Uint8Array {
  if (p.nodes.length > SIDECAR_MAX_NODES) throw bad('sidecar params', `${p.nodes.length} nodes exceed ${SIDECAR_MAX_NODES}`);
  const w = new ByteWriter(PAGE).u64(p.hypercallPage).u32(p.enableLogging ? 1 : 0).u32(p.nodes.length);
  for (let i = 0; i < SIDECAR_MAX_NODES; i++) {
    const n = p.nodes[i];
    if (n === undefined) w.zeros(24);
    else w.u64(n.memoryBase).u64(n.memorySize).u32(n.baseVp).u32(n.vpCount);
  }
  const bitmap = new Uint8Array(SIDECAR_MAX_CPUS / 8);
  for (const vp of p.startInSidecar) {
    if (!Number.isInteger(vp) || vp < 0 || vp >= SIDECAR_MAX_CPUS) throw bad('sidecar params', `vp ${vp} is out of range`);
    bitmap[vp >> 3]! |= 1 << (vp & 7);
  }
  w.bytes(bitmap);
  const out = new Uint8Array(PAGE);
  out.set(w.finish());
  return out;
}

/** Decodes SidecarParams; SIDECAR_INVALID on a bad node count or truncation. */
export function decodeSidecarParams(bytes: Uint8Array): SidecarParams {
  const r = new ByteReader(bytes, 'sidecar params', 'SIDECAR_INVALID');
  const hypercallPage = r.u64();
  const enableLogging = r.u32() !== 0;
  const count = r.u32();
  if (count > SIDECAR_MAX_NODES) throw bad('sidecar params', `node count ${count} exceeds ${SIDECAR_MAX_NODES}`);
  const nodes: SidecarNodeParams[] = [];
  for (let i = 0; i < SIDECAR_MAX_NODES; i++) {
    const n = { memoryBase: r.u64(), memorySize: r.u64(), baseVp: r.u32(), vpCount: r.u32() };
    if (i < count) nodes.push(n);
  }
  const bitmap = r.bytes(SIDECAR_MAX_CPUS / 8);
  const startInSidecar: number[] = [];
  for (let vp = 0; vp < SIDECAR_MAX_CPUS; vp++) if ((bitmap[vp >> 3]! >> (vp & 7)) & 1) startInSidecar.push(vp);
  return { hypercallPage, enableLogging, nodes, startInSidecar };
}

/** Encodes SidecarOutput to one page. */
export function encodeSidecarOutput(o: SidecarOutput): Uint8Array {
  const msg = new TextEncoder().encode(o.error).subarray(0, 127);
  const w = new ByteWriter(PAGE).u8(msg.length).bytes(msg).zeros(127 - msg.length);
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
  if (len > 127) throw bad('sidecar output', `error length ${len} exceeds 127`);
  const error = new TextDecoder().decode(r.bytes(127).subarray(0, len));
  const nodes: SidecarOutput['nodes'] = [];
  for (let i = 0; i < Math.min(nodeCount, SIDECAR_MAX_NODES); i++) nodes.push({ controlPage: r.u64(), shmemBase: r.u64(), shmemSize: r.u64() });
  return { error, nodes };
}

/**
 * The sidecar image's entry point as the shim calls it: the parameters page at `paramsGpa` in,
 * the output page written at `outputGpa` (openhcl_boot starts the sidecar and then reads its output).
 */
export type SidecarEntry = (memory: GuestMemory, paramsGpa: bigint, outputGpa: bigint) => void;
