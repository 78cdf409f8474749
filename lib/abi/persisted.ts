import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ByteReader, ByteWriter } from '../bytes/index.ts';
import { HclError } from '../errors.ts';
import type { GuestMemory } from '../memory/index.ts';
import { MEMORY_VTL_TYPE, SAVED_STATE_DESC } from './persisted-proto.ts';
import { PERSISTED_REGION_SIZE, type Region } from './shim-params.ts';

/**
 * Shim persisted state (vm/loader/loader_defs/src/shim.rs): the header `PersistedStateHeader`
 * (magic "OHCLPHDR", u64 protobuf_base, u64 protobuf_region_len, u64 protobuf_payload_len) in
 * the first page of the persisted region, and the protobuf `openhcl.openhcl_boot.SavedState`
 * payload after it. Usermode writes it at servicing save (underhill_core loader/vtl2_config
 * `write_persisted_info`); the next shim reads it (openhcl_boot host_params/dt
 * `topology_from_persisted_state`).
 */

export { MEMORY_VTL_TYPE };

/** `MemoryVtlType::ram() && vtl2()`: every VTL2 RAM use (all but VTL0, VTL0_MMIO, VTL2_MMIO). */
export function isVtl2RamType(vtlType: number): boolean {
  return vtlType >= 1 && vtlType <= 12 && vtlType !== MEMORY_VTL_TYPE.VTL0_MMIO && vtlType !== MEMORY_VTL_TYPE.VTL2_MMIO;
}

/**
 * The `SavedState` payload. Ranges are held as base + size here and written as the real
 * `MemoryRange {start, end}`; `igvmType` is the `IgvmMemoryType` newtype's u16.
 */
export interface PersistedPayload {
  partitionMemory: Array<{ base: bigint; size: bigint; vnode: number; vtlType: number; igvmType: number }>;
  partitionMmio: Array<{ base: bigint; size: bigint; vtlType: number }>;
  cpusWithMappedInterruptsNoIo: number[];
  cpusWithOutstandingIo: number[];
}

/** Header magic "OHCLPHDR" as a little-endian u64. */
export const PERSISTED_MAGIC = 0x524448504c43484fn;
/** Pages of the loader's 2 MiB region (PERSISTED_REGION_SIZE) the shim uses, header page included (openhcl_boot dt/mod.rs `topology_from_host_dt`). */
export const PERSISTED_STATE_PAGES = 20;
const PAGE = 0x1000n;
const U16_MAX = 0xffff;

const invalid = (why: string): HclError => new HclError('SHIM_PERSISTED_STATE_INVALID', `persisted state payload: ${why}`);

/** Encodes the payload as protobuf `openhcl.openhcl_boot.SavedState`. */
export function encodePersistedPayload(p: PersistedPayload): Uint8Array {
  const range = (base: bigint, size: bigint) => ({ start: base, end: base + size });
  return toBinary(SAVED_STATE_DESC, create(SAVED_STATE_DESC, {
    partitionMemory: p.partitionMemory.map((m) => ({ range: range(m.base, m.size), vnode: m.vnode, vtlType: m.vtlType, igvmType: { value: m.igvmType } })),
    partitionMmio: p.partitionMmio.map((m) => ({ range: range(m.base, m.size), vtlType: m.vtlType })),
    cpusWithMappedInterruptsNoIo: p.cpusWithMappedInterruptsNoIo,
    cpusWithOutstandingIo: p.cpusWithOutstandingIo,
  }));
}

interface WireRange { start: bigint; end: bigint }
interface WireState {
  partitionMemory: Array<{ range?: WireRange; vnode: number; vtlType: number; igvmType?: { value: number } }>;
  partitionMmio: Array<{ range?: WireRange; vtlType: number }>;
  cpusWithMappedInterruptsNoIo: number[];
  cpusWithOutstandingIo: number[];
}

/** Decodes a protobuf payload; SHIM_PERSISTED_STATE_INVALID on a wire error or a range that ends before it starts. */
export function decodePersistedPayload(bytes: Uint8Array): PersistedPayload {
  let s: WireState;
  try {
    s = fromBinary(SAVED_STATE_DESC, bytes, { readUnknownFields: false }) as unknown as WireState;
  } catch (e) {
    throw new HclError('SHIM_PERSISTED_STATE_INVALID', `persisted state payload: not a SavedState message: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const range = (what: string, r: WireRange | undefined): { base: bigint; size: bigint } => {
    const start = r?.start ?? 0n;
    const end = r?.end ?? 0n;
    if (end < start) throw invalid(`${what}: range 0x${start.toString(16)}-0x${end.toString(16)} ends before it starts`);
    return { base: start, size: end - start };
  };
  return {
    partitionMemory: s.partitionMemory.map((m, i) => {
      const igvmType = m.igvmType?.value ?? 0;
      if (igvmType > U16_MAX) throw invalid(`partition_memory[${i}]: igvm type ${igvmType} is not a u16`);
      return { ...range(`partition_memory[${i}]`, m.range), vnode: m.vnode, vtlType: m.vtlType, igvmType };
    }),
    partitionMmio: s.partitionMmio.map((m, i) => ({ ...range(`partition_mmio[${i}]`, m.range), vtlType: m.vtlType })),
    cpusWithMappedInterruptsNoIo: [...s.cpusWithMappedInterruptsNoIo],
    cpusWithOutstandingIo: [...s.cpusWithOutstandingIo],
  };
}

/** The header page and protobuf region the shim makes of a persisted region (its first PERSISTED_STATE_PAGES pages). */
export interface PersistedPlacement {
  header: Region;
  protobuf: Region;
}

/** The shim's sizing of `region`; undefined when the region is smaller than PERSISTED_STATE_PAGES pages. */
export function persistedPlacement(region: Region): PersistedPlacement | undefined {
  const used = BigInt(PERSISTED_STATE_PAGES) * PAGE;
  if (region.size < used) return undefined;
  return { header: { gpa: region.gpa, size: PAGE }, protobuf: { gpa: region.gpa + PAGE, size: used - PAGE } };
}

/** Writes payload and header as `write_persisted_info` does; SHIM_PERSISTED_STATE_INVALID if the payload does not fit. */
export function writePersistedState(memory: GuestMemory, at: PersistedPlacement, payload: PersistedPayload): void {
  const body = encodePersistedPayload(payload);
  if (BigInt(body.length) > at.protobuf.size) {
    throw new HclError('SHIM_PERSISTED_STATE_INVALID', `persisted state: payload of ${body.length} bytes does not fit the 0x${at.protobuf.size.toString(16)}-byte protobuf region at 0x${at.protobuf.gpa.toString(16)}`);
  }
  memory.write(at.protobuf.gpa, body);
  memory.write(at.header.gpa, new ByteWriter(32).u64(PERSISTED_MAGIC).u64(at.protobuf.gpa).u64(at.protobuf.size).u64(body.length).finish());
}

/**
 * Reads the persisted state at the start of `region` (the whole region the shim parameters
 * name); undefined when the magic is absent (fresh boot). SHIM_PERSISTED_STATE_INVALID when the
 * protobuf region is not inside `region`, the payload is longer than its region, or it is bad —
 * each an assert (a panic) in the real shim.
 */
export function readPersistedState(memory: GuestMemory, region: Region): { payload: PersistedPayload; protobuf: Region } | undefined {
  const r = new ByteReader(memory.read(region.gpa, 32), 'persisted state header', 'SHIM_PERSISTED_STATE_INVALID');
  if (r.u64() !== PERSISTED_MAGIC) return undefined;
  const base = r.u64();
  const regionLen = r.u64();
  const len = r.u64();
  const end = region.gpa + region.size;
  // A bound of our own: no payload beyond the loader's 2 MiB region is read, however large a
  // crafted package makes the region.
  if (len > BigInt(PERSISTED_REGION_SIZE)) {
    throw new HclError('SHIM_PERSISTED_STATE_INVALID', `persisted state header at 0x${region.gpa.toString(16)}: payload of 0x${len.toString(16)} bytes is larger than the 0x${PERSISTED_REGION_SIZE.toString(16)}-byte persisted region`);
  }
  if (base < region.gpa || base + regionLen > end || len > regionLen) {
    throw new HclError('SHIM_PERSISTED_STATE_INVALID', `persisted state header at 0x${region.gpa.toString(16)}: payload 0x${base.toString(16)}+0x${len.toString(16)} (region 0x${regionLen.toString(16)}) is outside the persisted region ending at 0x${end.toString(16)}`);
  }
  return { payload: decodePersistedPayload(memory.read(base, Number(len))), protobuf: { gpa: base, size: regionLen } };
}
