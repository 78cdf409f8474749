import { ByteReader, ByteWriter } from '../bytes/index.ts';
import { HclError } from '../errors.ts';
import type { GuestMemory } from '../memory/index.ts';
import type { Region } from './shim-params.ts';

/**
 * Shim persisted state: what the paravisor saves for the next shim at servicing time. The
 * header (first page of the persisted-state region) is magic "OHCLPHDR", then u64 payload GPA,
 * u64 payload region length, u64 payload length. The payload starts on the next page; OpenHCL
 * encodes it as protobuf, the model as a compact little-endian record:
 *   u32 memory count, each {u64 base, u64 size, u32 vnode, u8 vtl type, u8 igvm type, u16 0}
 *   u32 mmio count, each {u64 base, u64 size, u32 vtl type}
 *   u32 n + u32 × n cpus_with_mapped_interrupts_no_io
 *   u32 n + u32 × n cpus_with_outstanding_io
 *   u32 n + {u64 reg, u32 vnode} × n cpus  (model extension: the VP list, so a changed VP
 *     count or placement is refused too; n = 0 skips that check)
 */
export interface PersistedPayload {
  partitionMemory: Array<{ base: bigint; size: bigint; vnode: number; vtlType: number; igvmType: number }>;
  partitionMmio: Array<{ base: bigint; size: bigint; vtlType: number }>;
  cpusWithMappedInterruptsNoIo: number[];
  cpusWithOutstandingIo: number[];
  cpus: Array<{ reg: bigint; vnode: number }>;
}

/** Header magic "OHCLPHDR" as a little-endian u64. */
export const PERSISTED_MAGIC = 0x524448504c43484fn;
const PAGE = 0x1000n;

/** Encodes the payload record. */
export function encodePersistedPayload(p: PersistedPayload): Uint8Array {
  const w = new ByteWriter(1024).u32(p.partitionMemory.length);
  for (const m of p.partitionMemory) w.u64(m.base).u64(m.size).u32(m.vnode).u8(m.vtlType).u8(m.igvmType).u16(0);
  w.u32(p.partitionMmio.length);
  for (const m of p.partitionMmio) w.u64(m.base).u64(m.size).u32(m.vtlType);
  for (const list of [p.cpusWithMappedInterruptsNoIo, p.cpusWithOutstandingIo]) {
    w.u32(list.length);
    for (const c of list) w.u32(c);
  }
  w.u32(p.cpus.length);
  for (const c of p.cpus) w.u64(c.reg).u32(c.vnode);
  return w.finish();
}

/** Decodes the payload record; SHIM_PERSISTED_STATE_INVALID on truncation or trailing bytes. */
export function decodePersistedPayload(bytes: Uint8Array): PersistedPayload {
  const r = new ByteReader(bytes, 'persisted state payload', 'SHIM_PERSISTED_STATE_INVALID');
  // Each count is checked against the bytes left so a corrupt count cannot allocate wildly.
  const count = (each: number): number => {
    const n = r.u32();
    if (n * each > r.remaining) {
      throw new HclError('SHIM_PERSISTED_STATE_INVALID', `persisted state payload at 0x${(r.pos - 4).toString(16)}: count ${n} exceeds the ${r.remaining} bytes left`);
    }
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
  const cpus = times(count(12), () => ({ reg: r.u64(), vnode: r.u32() }));
  if (r.remaining !== 0) throw new HclError('SHIM_PERSISTED_STATE_INVALID', `persisted state payload: ${r.remaining} trailing bytes`);
  return { partitionMemory, partitionMmio, cpusWithMappedInterruptsNoIo, cpusWithOutstandingIo, cpus };
}

/** Writes header and payload into the persisted-state region; SHIM_PERSISTED_STATE_INVALID if it does not fit. */
export function writePersistedState(memory: GuestMemory, region: Region, payload: PersistedPayload): void {
  const body = encodePersistedPayload(payload);
  const regionLen = region.size - PAGE;
  if (region.size < 2n * PAGE || BigInt(body.length) > regionLen) {
    throw new HclError('SHIM_PERSISTED_STATE_INVALID', `persisted state: payload of ${body.length} bytes does not fit the 0x${region.size.toString(16)}-byte region at 0x${region.gpa.toString(16)}`);
  }
  memory.write(region.gpa, new ByteWriter(32).u64(PERSISTED_MAGIC).u64(region.gpa + PAGE).u64(regionLen).u64(body.length).finish());
  memory.write(region.gpa + PAGE, body);
}

/**
 * Reads the persisted state at the region; undefined when the magic is absent (fresh boot).
 * SHIM_PERSISTED_STATE_INVALID when the header points outside the region or the payload is bad.
 */
export function readPersistedState(memory: GuestMemory, region: Region): PersistedPayload | undefined {
  const r = new ByteReader(memory.read(region.gpa, 32), 'persisted state header', 'SHIM_PERSISTED_STATE_INVALID');
  if (r.u64() !== PERSISTED_MAGIC) return undefined;
  const base = r.u64();
  const regionLen = r.u64();
  const len = r.u64();
  const end = region.gpa + region.size;
  if (base < region.gpa + 32n || base + regionLen > end || len > regionLen) {
    throw new HclError('SHIM_PERSISTED_STATE_INVALID', `persisted state header at 0x${region.gpa.toString(16)}: payload 0x${base.toString(16)}+0x${len.toString(16)} (region 0x${regionLen.toString(16)}) is outside the persisted region ending at 0x${end.toString(16)}`);
  }
  return decodePersistedPayload(memory.read(base, Number(len)));
}
