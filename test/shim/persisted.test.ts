import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { prop, findNode } from '../../lib/fdt/index.ts';
import { ByteWriter } from '../../lib/bytes/index.ts';
import { GuestMemory } from '../../lib/memory/index.ts';
import { runShim } from '../../lib/shim/index.ts';
import { enterSidecar } from '../../lib/sidecar/index.ts';
import {
  PERSISTED_MAGIC, decodePersistedPayload, encodePersistedPayload, readPersistedState, writePersistedState,
  type PersistedPayload,
} from '../../lib/abi/index.ts';
import { bootImage, GIB, type HostSpec } from './fixture.ts';
import { expectError } from './expect.ts';

const payload: PersistedPayload = {
  partitionMemory: [{ base: 0x1_0000_0000n, size: GIB, vnode: 1, vtlType: 0, igvmType: 0 }],
  partitionMmio: [{ base: 0xf000_0000n, size: 0x800_0000n, vtlType: 5 }],
  cpusWithMappedInterruptsNoIo: [2], cpusWithOutstandingIo: [1, 3], cpus: [{ reg: 0n, vnode: 1 }, { reg: 7n, vnode: 0 }],
};

test('persisted state: header OHCLPHDR + payload round trip through guest memory', () => {
  const m = new GuestMemory();
  const region = { gpa: 0x10_0000n, size: 0x2_0000n };
  assert.is(readPersistedState(m, region), undefined);
  writePersistedState(m, region, payload);
  assert.is(new TextDecoder().decode(m.read(region.gpa, 8)), 'OHCLPHDR');
  assert.equal(readPersistedState(m, region), payload);
  assert.equal(decodePersistedPayload(encodePersistedPayload(payload)), payload);
});

test('persisted state: damage is SHIM_PERSISTED_STATE_INVALID', () => {
  const bytes = encodePersistedPayload(payload);
  expectError(() => decodePersistedPayload(bytes.subarray(0, bytes.length - 1)), 'SHIM_PERSISTED_STATE_INVALID', 'count 2 exceeds the 23 bytes left');
  expectError(() => decodePersistedPayload(Uint8Array.of(...bytes, 0)), 'SHIM_PERSISTED_STATE_INVALID', '1 trailing bytes');
  expectError(() => decodePersistedPayload(Uint8Array.of(0xff, 0xff, 0xff, 0x0f)), 'SHIM_PERSISTED_STATE_INVALID', 'count 268435455 exceeds');
  const m = new GuestMemory();
  writePersistedState(m, { gpa: 0x10_0000n, size: 0x2_0000n }, payload);
  expectError(() => readPersistedState(m, { gpa: 0x10_0000n, size: 0x1000n }), 'SHIM_PERSISTED_STATE_INVALID', 'outside the persisted region');
  expectError(() => writePersistedState(m, { gpa: 0x10_0000n, size: 0x1000n }, payload), 'SHIM_PERSISTED_STATE_INVALID', 'does not fit');
});

// Boot, save the shim's checkpoint into the persisted region, then boot a changed host.
function restoreWith(change: Partial<HostSpec>, edit?: Parameters<typeof bootImage>[1]): () => ReturnType<typeof runShim> {
  const first = bootImage({ vnodes: [0, 0, 1, 1] });
  const saved = runShim(first.memory, first.layout.shim.gpa, { enterSidecar }).persisted;
  const next = bootImage({ vnodes: [0, 0, 1, 1], ...change }, edit);
  writePersistedState(next.memory, next.layout.persisted, { ...saved, cpusWithOutstandingIo: [1] });
  return () => runShim(next.memory, next.layout.shim.gpa, { enterSidecar });
}

test('restore: same topology restores; CPUs with outstanding I/O start in Linux', () => {
  const r = restoreWith({})();
  assert.is(r.restored, true);
  assert.equal(r.bootCpus, [0, 1, 2]);
});

const mismatches: Array<[string, Partial<HostSpec>, Parameters<typeof bootImage>[1], string]> = [
  ['VP count', { vnodes: [0, 0, 1, 1, 1] }, undefined, 'vp count: saved 4, host 5'],
  ['a VP vnode', { vnodes: [0, 1, 1, 1] }, undefined, 'vp 1 vnode: saved 0, host 1'],
  ['a VP reg', {}, (r) => { findNode(r, '/cpus/cpu@3')!.properties[1] = prop.u32('reg', 9); }, 'vp 3 reg: saved 0x3, host 0x9'],
  ['memory size', { ramPerNode: GIB / 2n }, undefined, 'memory 0x100000000+0x40000000 vnode 0 vtl-type 0 igvm-type 0: saved, not offered by host'],
  ['MMIO', { vtl0Mmio: [[0xe000_0000n, 0x800_0000n], [0x10_0000_0000n, 0x4000_0000n]] }, undefined, 'mmio 0xe0000000+0x8000000 vtl-type 5: offered by host, not saved'],
];
for (const [name, change, edit, text] of mismatches) {
  test(`restore refused when the host changes ${name}`, () => expectError(restoreWith(change, edit), 'TOPOLOGY_MISMATCH', text));
}

// openvmm openhcl/openhcl_boot/src/host_params/dt/mod.rs, topology_from_persisted_state: the
// payload length may equal the payload region length, not exceed it.
test('persisted state header: payload length equal to the region length is read, one more is refused', () => {
  const region = { gpa: 0x10_0000n, size: 0x2_0000n };
  const body = encodePersistedPayload(payload);
  const header = (regionLen: number, len: number) => new ByteWriter(32).u64(PERSISTED_MAGIC).u64(region.gpa + 0x1000n).u64(BigInt(regionLen)).u64(BigInt(len)).finish();
  const m = new GuestMemory();
  m.write(region.gpa + 0x1000n, Uint8Array.of(...body, 0));
  m.write(region.gpa, header(body.length, body.length));
  assert.equal(readPersistedState(m, region), payload);
  m.write(region.gpa, header(body.length, body.length + 1));
  expectError(() => readPersistedState(m, region), 'SHIM_PERSISTED_STATE_INVALID', `payload 0x${(region.gpa + 0x1000n).toString(16)}+0x${(body.length + 1).toString(16)} (region 0x${body.length.toString(16)}) is outside the persisted region`);
});

test.run();
