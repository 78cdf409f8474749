import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { GuestMemory } from '../../lib/memory/index.ts';
import {
  PERSISTED_REGION_SIZE, PERSISTED_STATE_PAGES, decodePersistedPart, decodePersistedPayload, encodePersistedPayload, persistedPlacement,
  readPersistedState, withPersistedRanges, writePersistedState, PERSISTED_PART_FORMAT, type PersistedPayload,
} from '../../lib/abi/index.ts';
import { ByteWriter } from '../../lib/bytes/index.ts';
import { expectError } from '../shim/expect.ts';

// The .proto is written by hand from openvmm's loader_defs (see its header); protobufjs parses it,
// so the bytes hclckpt writes are checked by a protobuf implementation other than its own.
const root = protobuf.loadSync(fileURLToPath(new URL('./fixtures/openhcl_boot.proto', import.meta.url)));
const SavedState = root.lookupType('openhcl.openhcl_boot.SavedState');
const asObject = (bytes: Uint8Array) => SavedState.toObject(SavedState.decode(bytes), { longs: String, enums: String, defaults: true });

const payload: PersistedPayload = {
  partitionMemory: [
    { base: 0x800_0000n, size: 0x1000n, vnode: 0, vtlType: 11, igvmType: 3 },
    { base: 0x1_0000_0000n, size: 0x4000_0000n, vnode: 1, vtlType: 0, igvmType: 0 },
    { base: 0xffff_ffff_f000n, size: 0x1000n, vnode: 63, vtlType: 8, igvmType: 0xffff },
  ],
  partitionMmio: [{ base: 0xf000_0000n, size: 0x800_0000n, vtlType: 5 }, { base: 0xfc00_0000n, size: 0x200_0000n, vtlType: 6 }],
  cpusWithMappedInterruptsNoIo: [2, 5], cpusWithOutstandingIo: [1, 300],
};

test('persisted payload: protobufjs decodes it against the real SavedState definition', () => {
  const o = asObject(encodePersistedPayload(payload));
  assert.equal(o['partitionMemory'], [
    { range: { start: String(0x800_0000), end: String(0x800_1000) }, vnode: 0, vtlType: 'VTL2_PERSISTED_STATE_HEADER', igvmType: { value: 3 } },
    { range: { start: String(0x1_0000_0000), end: String(0x1_4000_0000) }, vnode: 1, vtlType: 'VTL0', igvmType: { value: 0 } },
    { range: { start: String(0xffff_ffff_f000), end: String(0x1_0000_0000_0000) }, vnode: 63, vtlType: 'VTL2_GPA_POOL', igvmType: { value: 0xffff } },
  ]);
  assert.equal(o['partitionMmio'], [
    { range: { start: String(0xf000_0000), end: String(0xf800_0000) }, vtlType: 'VTL0_MMIO' },
    { range: { start: String(0xfc00_0000), end: String(0xfe00_0000) }, vtlType: 'VTL2_MMIO' },
  ]);
  assert.equal(o['cpusWithMappedInterruptsNoIo'], [2, 5]);
  assert.equal(o['cpusWithOutstandingIo'], [1, 300]);
});

test('persisted payload: what protobufjs encodes from the .proto decodes to the same payload', () => {
  const msg = SavedState.fromObject({
    partitionMemory: payload.partitionMemory.map((m) => ({ range: { start: String(m.base), end: String(m.base + m.size) }, vnode: m.vnode, vtlType: m.vtlType, igvmType: { value: m.igvmType } })),
    partitionMmio: payload.partitionMmio.map((m) => ({ range: { start: String(m.base), end: String(m.base + m.size) }, vtlType: m.vtlType })),
    cpusWithMappedInterruptsNoIo: payload.cpusWithMappedInterruptsNoIo, cpusWithOutstandingIo: payload.cpusWithOutstandingIo,
  });
  assert.equal(decodePersistedPayload(SavedState.encode(msg).finish()), payload);
  assert.equal(decodePersistedPayload(encodePersistedPayload(payload)), payload);
});

test('persisted payload: unknown fields are ignored, missing ones take their default', () => {
  // field 9 (varint 7) is unknown to SavedState; an empty message is the empty state.
  assert.equal(decodePersistedPayload(Uint8Array.of(0x48, 0x07)), { partitionMemory: [], partitionMmio: [], cpusWithMappedInterruptsNoIo: [], cpusWithOutstandingIo: [] });
  // A MemoryEntry with no range is 0..0 (mesh_protobuf's default MemoryRange).
  assert.equal(decodePersistedPayload(Uint8Array.of(0x0a, 0x02, 0x10, 0x04)).partitionMemory, [{ base: 0n, size: 0n, vnode: 4, vtlType: 0, igvmType: 0 }]);
});

test('persisted payload: damage is SHIM_PERSISTED_STATE_INVALID', () => {
  const bytes = encodePersistedPayload(payload);
  expectError(() => decodePersistedPayload(bytes.subarray(0, bytes.length - 1)), 'SHIM_PERSISTED_STATE_INVALID', 'not a SavedState message');
  expectError(() => decodePersistedPayload(Uint8Array.of(0x0a, 0x7f)), 'SHIM_PERSISTED_STATE_INVALID', 'not a SavedState message');
  // range {start: 2, end: 1}
  expectError(() => decodePersistedPayload(Uint8Array.of(0x12, 0x06, 0x0a, 0x04, 0x08, 0x02, 0x10, 0x01)), 'SHIM_PERSISTED_STATE_INVALID', 'partition_mmio[0]: range 0x2-0x1 ends before it starts');
  // igvm_type {value: 0x10000}
  expectError(() => decodePersistedPayload(Uint8Array.of(0x0a, 0x06, 0x22, 0x04, 0x08, 0x80, 0x80, 0x04)), 'SHIM_PERSISTED_STATE_INVALID', 'igvm type 65536 is not a u16');
});

test('persisted region: the shim uses a header page and 19 protobuf pages of the loader\'s 2 MiB', () => {
  assert.is(PERSISTED_REGION_SIZE, 2 * 1024 * 1024); // vm/loader/src/paravisor.rs PERSISTED_REGION_SIZE
  assert.is(PERSISTED_STATE_PAGES, 20); // openhcl_boot dt/mod.rs topology_from_host_dt: 20 * 4096
  const at = persistedPlacement({ gpa: 0x80_0000n, size: BigInt(PERSISTED_REGION_SIZE) })!;
  assert.equal(at, { header: { gpa: 0x80_0000n, size: 0x1000n }, protobuf: { gpa: 0x80_1000n, size: 19n * 0x1000n } });
  assert.is(persistedPlacement({ gpa: 0x80_0000n, size: 19n * 0x1000n }), undefined);
});

test('persisted state: OHCLPHDR header fields as PersistedStateHeader lays them out, payload after it', () => {
  const m = new GuestMemory();
  const region = { gpa: 0x80_0000n, size: BigInt(PERSISTED_REGION_SIZE) };
  const at = persistedPlacement(region)!;
  assert.is(readPersistedState(m, region), undefined);
  writePersistedState(m, at, payload);
  const body = encodePersistedPayload(payload);
  const header = new ByteWriter(32).u64(0x524448504c43484fn).u64(0x80_1000n).u64(19n * 0x1000n).u64(BigInt(body.length)).finish();
  assert.equal(m.read(region.gpa, 32), header);
  assert.is(new TextDecoder().decode(m.read(region.gpa, 8)), 'OHCLPHDR');
  assert.equal(m.read(at.protobuf.gpa, body.length), body);
  assert.equal(readPersistedState(m, region), { payload, protobuf: at.protobuf });
});

test('persisted state: a header pointing outside the region, or a payload too big, is refused', () => {
  const m = new GuestMemory();
  const region = { gpa: 0x80_0000n, size: 20n * 0x1000n };
  writePersistedState(m, persistedPlacement(region)!, payload);
  expectError(() => readPersistedState(m, { gpa: 0x80_0000n, size: 0x1000n }), 'SHIM_PERSISTED_STATE_INVALID', 'outside the persisted region');
  m.write(region.gpa + 24n, new ByteWriter(8).u64(20n * 0x1000n).finish()); // payload len > region len
  expectError(() => readPersistedState(m, region), 'SHIM_PERSISTED_STATE_INVALID', 'outside the persisted region');
  const huge = { gpa: 0x80_0000n, size: 0x4000_0000n }; // a crafted package's 1 GiB region
  m.write(huge.gpa, new ByteWriter(32).u64(0x524448504c43484fn).u64(huge.gpa + 0x1000n).u64(0x3fff_f000n).u64(0x3fff_f000n).finish());
  expectError(() => readPersistedState(m, huge), 'SHIM_PERSISTED_STATE_INVALID', 'payload of 0x3ffff000 bytes is larger than the 0x200000-byte persisted region');
  const big = { ...payload, cpusWithOutstandingIo: Array.from({ length: 30_000 }, (_, i) => i + 100_000) };
  expectError(() => writePersistedState(m, persistedPlacement(region)!, big), 'SHIM_PERSISTED_STATE_INVALID', 'does not fit the 0x13000-byte protobuf region');
});

// openhcl_boot host_params/dt/mod.rs topology_from_persisted_state: the payload length may equal
// the protobuf region length, not exceed it.
test('persisted state header: payload length equal to the region length is read, one more is refused', () => {
  const region = { gpa: 0x10_0000n, size: BigInt(PERSISTED_REGION_SIZE) };
  const body = encodePersistedPayload(payload);
  const header = (regionLen: number, len: number) => new ByteWriter(32).u64(0x524448504c43484fn).u64(region.gpa + 0x1000n).u64(BigInt(regionLen)).u64(BigInt(len)).finish();
  const m = new GuestMemory();
  m.write(region.gpa + 0x1000n, Uint8Array.of(...body, 0));
  m.write(region.gpa, header(body.length, body.length));
  assert.equal(readPersistedState(m, region)?.payload, payload);
  m.write(region.gpa, header(body.length, body.length + 1));
  expectError(() => readPersistedState(m, region), 'SHIM_PERSISTED_STATE_INVALID', `payload 0x${(region.gpa + 0x1000n).toString(16)}+0x${(body.length + 1).toString(16)} (region 0x${body.length.toString(16)}) is outside the persisted region`);
});

// The model's record before protobuf: u32 count + {u64 base, u64 size, u32 vnode, u8 vtl, u8 igvm, u16 0}, mmio, two cpu lists, VP list.
function legacyRecord(): Uint8Array {
  const w = new ByteWriter(256).u32(2);
  w.u64(0x800_0000n).u64(0x400_0000n).u32(0).u8(1).u8(3).u16(0);
  w.u64(0x1_0000_0000n).u64(0x4000_0000n).u32(0).u8(0).u8(0).u16(0);
  w.u32(1).u64(0xf000_0000n).u64(0x800_0000n).u32(5);
  w.u32(1).u32(2).u32(0);
  w.u32(2).u64(0n).u32(0).u64(1n).u32(0);
  return w.finish();
}

test('snapshot part: a part without the protobuf format is the old record; its VP list is dropped', () => {
  const part = decodePersistedPart(legacyRecord(), undefined);
  assert.is(part.legacy, true);
  assert.equal(part.payload.partitionMmio, [{ base: 0xf000_0000n, size: 0x800_0000n, vtlType: 5 }]);
  assert.equal(part.payload.cpusWithMappedInterruptsNoIo, [2]);
  assert.equal(decodePersistedPart(encodePersistedPayload(payload), PERSISTED_PART_FORMAT), { payload, legacy: false });
  expectError(() => decodePersistedPart(legacyRecord().subarray(0, 30), undefined), 'SHIM_PERSISTED_STATE_INVALID', 'count 2 exceeds');
});

test('snapshot part: the old record gets the persisted ranges cut out of its VTL2 RAM, as the shim splits them', () => {
  const { payload: old } = decodePersistedPart(legacyRecord(), undefined);
  const at = persistedPlacement({ gpa: 0x804_0000n, size: 0x2_0000n })!;
  assert.equal(withPersistedRanges(old, at).partitionMemory, [
    { base: 0x800_0000n, size: 0x4_0000n, vnode: 0, vtlType: 1, igvmType: 3 },
    { base: 0x804_0000n, size: 0x1000n, vnode: 0, vtlType: 11, igvmType: 3 },
    { base: 0x804_1000n, size: 0x1_3000n, vnode: 0, vtlType: 12, igvmType: 3 },
    { base: 0x805_4000n, size: 0x400_0000n - 0x5_4000n, vnode: 0, vtlType: 1, igvmType: 3 },
    { base: 0x1_0000_0000n, size: 0x4000_0000n, vnode: 0, vtlType: 0, igvmType: 0 },
  ]);
});

test.run();
