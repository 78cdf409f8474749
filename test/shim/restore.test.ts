import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { presetConfig } from '../../lib/config/index.ts';
import { MEMORY_VTL_TYPE, persistedPlacement, writePersistedState, type PersistedPayload } from '../../lib/abi/index.ts';
import { ByteWriter } from '../../lib/bytes/index.ts';
import { GuestMemory } from '../../lib/memory/index.ts';
import { readPersisted } from '../../lib/shim/restore.ts';
import { nvmeInterruptState, persistedInfo } from '../../lib/hcl/index.ts';
import { mergedVtl2Ram, topologyFromPersisted } from '../../lib/shim/index.ts';
import { boot } from '../../harness/pipeline.ts';
import { expectError } from './expect.ts';

// What the shim takes from a persisted state (openhcl_boot host_params/dt/mod.rs
// topology_from_persisted_state), on the payload openvmm_hcl writes for a booted `small` VM.
const small = presetConfig('small');
const vm = boot(small);
const saved: PersistedPayload = persistedInfo(vm.discovered.partitionMemoryMap, { cpusWithMappedInterruptsNoIo: [3, 1], cpusWithOutstandingIo: [2, 1] });
const header = saved.partitionMemory.find((m) => m.vtlType === MEMORY_VTL_TYPE.VTL2_PERSISTED_STATE_HEADER)!;
const protobuf = { gpa: header.base + header.size, size: 19n * 0x1000n };
const vtl2 = vm.discovered.vtl2Ram[0]!;
const hostVtl2 = [{ base: BigInt(vtl2.base), size: BigInt(vtl2.size), vnode: vtl2.vnode, igvmType: 3, vtlType: MEMORY_VTL_TYPE.VTL2_RAM }];

test('VTL2 RAM is the saved VTL2 ranges merged where adjacent with the same igvm type and vnode', () => {
  assert.ok(saved.partitionMemory.filter((m) => m.vtlType !== MEMORY_VTL_TYPE.VTL0).length > 3, 'the saved map splits VTL2 RAM into typed pieces');
  assert.equal(mergedVtl2Ram(saved), hostVtl2);
  const twoVnodes = { ...saved, partitionMemory: saved.partitionMemory.map((m) => (m.vtlType === MEMORY_VTL_TYPE.VTL2_CONFIG ? { ...m, vnode: 1 } : m)) };
  assert.ok(mergedVtl2Ram(twoVnodes).length > 1, 'a piece on another vnode is not merged');
});

test('host mode: matching VTL2 RAM restores; MMIO, persisted region and sidecar exclusions come from the saved state', () => {
  const t = topologyFromPersisted(saved, protobuf, true, hostVtl2);
  assert.equal(t.vtl2Ram, [{ gpa: BigInt(vtl2.base), size: BigInt(vtl2.size), vnode: vtl2.vnode }]);
  assert.equal(t.mmio.vtl0.map((r) => Number(r.gpa)), vm.discovered.topology.vtl0Mmio.map((r) => r.base));
  assert.equal(t.placement, { header: { gpa: header.base, size: 0x1000n }, protobuf });
  assert.equal(t.sidecarExcludedCpus, [1, 2, 3]);
  assert.equal(t.gpaPool, []);
});

test('host mode: VTL2 RAM that differs from the host is a shim panic (assert_eq in the real shim)', () => {
  const bigger = [{ ...hostVtl2[0]!, size: hostVtl2[0]!.size + 0x20_0000n }];
  expectError(() => topologyFromPersisted(saved, protobuf, true, bigger), 'SHIM_PANIC', 'OpenHCL would panic here: vtl2 ram from persisted state does not match host provided ram');
  expectError(() => topologyFromPersisted(saved, protobuf, true, [{ ...hostVtl2[0]!, vnode: 1 }]), 'SHIM_PANIC', 'does not match host provided ram');
  // vtl2 allocation mode: nothing is compared (the real code has a FUTURE note), the saved RAM is taken.
  assert.equal(topologyFromPersisted(saved, protobuf, false, bigger).vtl2Ram.length, 1);
});

test('a saved map without the persisted ranges, or a header naming another protobuf region, is a shim panic', () => {
  const noHeader = { ...saved, partitionMemory: saved.partitionMemory.filter((m) => m.vtlType !== MEMORY_VTL_TYPE.VTL2_PERSISTED_STATE_HEADER) };
  expectError(() => topologyFromPersisted(noHeader, protobuf, false, []), 'SHIM_PANIC', 'persisted state header missing from the saved partition memory');
  expectError(() => topologyFromPersisted(saved, { ...protobuf, gpa: protobuf.gpa + 0x1000n }, false, []), 'SHIM_PANIC', 'the header names its protobuf region at');
});

test('GPA pool ranges come from the saved state and are carved out for the kernel', () => {
  const pool = { base: BigInt(vtl2.base + vtl2.size) - 0x10_0000n, size: 0x10_0000n, vnode: vtl2.vnode, vtlType: MEMORY_VTL_TYPE.VTL2_GPA_POOL, igvmType: 3 };
  const split = saved.partitionMemory.flatMap((m) => (m.vtlType === MEMORY_VTL_TYPE.VTL2_RAM && m.base + m.size === pool.base + pool.size ? [{ ...m, size: m.size - pool.size }, pool] : [m]));
  const withPool = { ...saved, partitionMemory: split };
  assert.equal(topologyFromPersisted(withPool, protobuf, true, hostVtl2).gpaPool, [{ gpa: pool.base, size: pool.size }]);
  const r = boot(small, { persisted: { payload: withPool, legacy: false } });
  assert.ok(r.discovered.partitionMemoryMap.some((e) => e.vtlType === 'VTL2_GPA_POOL' && e.range.base === Number(pool.base)), 'the kernel DT reports the pool');
});

test('through the pipeline: a restore boot with the same host restores; damage in memory is a shim panic', () => {
  const again = boot(small, { persisted: { payload: saved, legacy: false } });
  assert.is(again.shim.restored, true);
  assert.ok(again.shim.log.some((l) => l.includes('vtl2 ram matches the host')));
  const empty = persistedInfo([], nvmeInterruptState(undefined));
  expectError(() => boot(small, { persisted: { payload: empty, legacy: false } }), 'SHIM_PANIC', 'vtl2 ram from persisted state does not match host provided ram: saved [], host [');
  // The header page retyped as plain VTL2 RAM: the RAM still matches, the header entry is gone.
  const noHeader = { ...saved, partitionMemory: saved.partitionMemory.map((m) => (m.vtlType === MEMORY_VTL_TYPE.VTL2_PERSISTED_STATE_HEADER ? { ...m, vtlType: MEMORY_VTL_TYPE.VTL2_RAM } : m)) };
  expectError(() => boot(small, { persisted: { payload: noHeader, legacy: false } }), 'SHIM_PANIC', 'persisted state header missing');
});

test('a damaged persisted header or payload in memory is a shim panic (assert!/expect in the real shim)', () => {
  const m = new GuestMemory();
  const region = { gpa: 0x80_0000n, size: 0x20_0000n };
  writePersistedState(m, persistedPlacement(region)!, saved);
  m.write(region.gpa + 0x1000n, Uint8Array.of(0x0a, 0xff, 0xff, 0x03)); // a MemoryEntry longer than the payload
  expectError(() => readPersisted(m, region), 'SHIM_PANIC', 'OpenHCL would panic here: persisted state payload: not a SavedState message');
  m.write(region.gpa + 8n, new ByteWriter(8).u64(0x100_0000n).finish()); // protobuf_base outside the region
  expectError(() => readPersisted(m, region), 'SHIM_PANIC', 'is outside the persisted region');
});

test('an isolated partition never reads the persisted header (read_persisted_region_header)', () => {
  const vbs = { ...small, isolation: 'vbs' as const };
  const r = boot(vbs, { persisted: { payload: persistedInfo([], nvmeInterruptState(undefined)), legacy: false } });
  assert.is(r.shim.restored, false);
});

test.run();
