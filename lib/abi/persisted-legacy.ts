import { ByteReader } from '../bytes/index.ts';
import { HclError } from '../errors.ts';
import { MEMORY_VTL_TYPE, decodePersistedPayload, type PersistedPayload, type PersistedPlacement } from './persisted.ts';

/**
 * Snapshots written before the payload became protobuf hold the model's old little-endian
 * record (u32-counted memory {u64 base, u64 size, u32 vnode, u8 vtl, u8 igvm, u16 0}, mmio
 * {u64, u64, u32}, two u32 cpu lists, and a VP list the real payload never had). Their memory
 * map has VTL2 RAM as whole ranges, without the persisted-region entries the real shim needs.
 */

/** A snapshot's `persisted` part decoded: the payload, and whether it came from the old record. */
export interface PersistedPart {
  payload: PersistedPayload;
  legacy: boolean;
}

/** Part meta `format` of a protobuf payload; a part without it holds the old record. */
export const PERSISTED_PART_FORMAT = 'openhcl.openhcl_boot.SavedState';

/** Decodes a `persisted` snapshot part by its meta `format`. */
export function decodePersistedPart(bytes: Uint8Array, format: unknown): PersistedPart {
  if (format === PERSISTED_PART_FORMAT) return { payload: decodePersistedPayload(bytes), legacy: false };
  return { payload: decodeLegacyRecord(bytes), legacy: true };
}

function decodeLegacyRecord(bytes: Uint8Array): PersistedPayload {
  const r = new ByteReader(bytes, 'persisted state record', 'SHIM_PERSISTED_STATE_INVALID');
  const count = (each: number): number => {
    const n = r.u32();
    if (n * each > r.remaining) throw new HclError('SHIM_PERSISTED_STATE_INVALID', `persisted state record: count ${n} exceeds the ${r.remaining} bytes left`);
    return n;
  };
  const times = <T>(n: number, f: () => T): T[] => Array.from({ length: n }, f);
  const partitionMemory = times(count(24), () => {
    const m = { base: r.u64(), size: r.u64(), vnode: r.u32(), vtlType: r.u8(), igvmType: r.u8() };
    r.u16();
    return m;
  });
  const partitionMmio = times(count(20), () => ({ base: r.u64(), size: r.u64(), vtlType: r.u32() }));
  const cpusWithMappedInterruptsNoIo = times(count(4), () => r.u32());
  const cpusWithOutstandingIo = times(count(4), () => r.u32());
  times(count(12), () => [r.u64(), r.u32()]); // the VP list: CPUs come fresh from the host now
  if (r.remaining !== 0) throw new HclError('SHIM_PERSISTED_STATE_INVALID', `persisted state record: ${r.remaining} trailing bytes`);
  return { partitionMemory, partitionMmio, cpusWithMappedInterruptsNoIo, cpusWithOutstandingIo };
}

/**
 * The old record's map with the persisted header and protobuf ranges cut out of the VTL2 RAM
 * entry holding them, as the shim's split map reports them; merging adjacent VTL2 ranges gives
 * the old RAM back. A placement outside every VTL2 RAM entry leaves the map as it is.
 */
export function withPersistedRanges(p: PersistedPayload, at: PersistedPlacement): PersistedPayload {
  const out: PersistedPayload['partitionMemory'] = [];
  const start = at.header.gpa;
  const end = at.protobuf.gpa + at.protobuf.size;
  for (const m of p.partitionMemory) {
    if (m.vtlType !== MEMORY_VTL_TYPE.VTL2_RAM || start < m.base || end > m.base + m.size) {
      out.push(m);
      continue;
    }
    const piece = (base: bigint, size: bigint, vtlType: number) => ({ ...m, base, size, vtlType });
    if (start > m.base) out.push(piece(m.base, start - m.base, m.vtlType));
    out.push(piece(at.header.gpa, at.header.size, MEMORY_VTL_TYPE.VTL2_PERSISTED_STATE_HEADER));
    out.push(piece(at.protobuf.gpa, at.protobuf.size, MEMORY_VTL_TYPE.VTL2_PERSISTED_STATE_PROTOBUF));
    if (end < m.base + m.size) out.push(piece(end, m.base + m.size - end, m.vtlType));
  }
  return { ...p, partitionMemory: out };
}
