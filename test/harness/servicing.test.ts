import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { presetConfig, validateConfig } from '../../lib/config/index.ts';
import { isHclError } from '../../lib/errors.ts';
import { hvByName, hvFromNamed, type HvState } from '../../lib/hv/index.ts';
import { VP_OFFSET, type PartitionVp } from '../../lib/hcl/units/index.ts';
import { buildPackage, packageOptionsFor } from '../../lib/host/index.ts';
import { decodeCanonical, encodeCanonical } from '../../lib/state/index.ts';
import { legacyRings, type VmbusStateV3 } from '../../lib/hcl/units/index.ts';
import { openStore, type SnapshotStore } from '../../lib/store/index.ts';
import { decodeParts, defaultRegistry } from '../../lib/snapshot/index.ts';
import { bootWithWorkload, captureVm, failedRestoreOutcome, proofDifferences, restoreSnapshot, saveVm, servicingDeadlineMs } from '../../harness/servicing.ts';
import { runWorkload } from '../../harness/workload.ts';
import { withoutRoles } from '../hcl/units/fixture.ts';

// Real LevelDB on disk, one fresh store per test.
async function withStore<T>(fn: (s: SnapshotStore) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'hclckpt-servicing-'));
  const store = await openStore(dir);
  try {
    return await fn(store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const cmdlineOf = (vm: { kernel: { procfs: { read(p: string): Uint8Array } } }) => new TextDecoder().decode(vm.kernel.procfs.read('/proc/cmdline')).trimEnd();

for (const preset of ['small', 'numa', 'arm64-virt']) {
  for (const seed of [1, 99]) {
    test(`${preset} seed ${seed}: restore(save(vm)) proves identical, unit by unit`, () => withStore(async (store) => {
      const vm = bootWithWorkload(presetConfig(preset), { seed, steps: 300 });
      const saved = await saveVm(vm, store);
      // One serial.uart16550 unit per configured COM port, named as OpenHCL names them; the NVMe
      // manager is no state unit: its state is init_state.nvme_state, under keep-alive only.
      const uarts = vm.config.devices.serial.map((s) => `serial-${s.port}`);
      assert.equal(saved.units.map((u) => u.name).sort(), ['partition', 'rtc.cmos', ...uarts, 'vmbus'].sort());
      const r = await restoreSnapshot(store, saved.id);
      assert.ok(r.proof.ok, JSON.stringify(r.proof.differences.slice(0, 3), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
      assert.is(r.proof.units, 3 + uarts.length);
      // Every unit as saved, once the saved VM runs again as the restored one does; each VP's role
      // is this boot's (CPUs with NVMe I/O in flight start in Linux), compared by the proof rule.
      vm.servicing.resume();
      for (const u of vm.units.all) {
        if (u.name === 'partition') {
          assert.equal(withoutRoles(r.vm.units.partition.save()), withoutRoles(u.save()));
          continue;
        }
        assert.equal(r.vm.units.all.find((x) => x.name === u.name)?.save(), u.save(), u.name);
      }
      assert.equal(r.vm.hv.save(), vm.hv.save());
      // Kept across servicing with keep-alive (numa); without it (small, arm64-virt) every controller restarts.
      const kept = presetConfig(preset).keepAlive.nvme;
      assert.equal(r.vm.units.nvme.view(), kept ? vm.units.nvme.view() : vm.units.nvme.defaultState());
      assert.ok(kept || vm.units.nvme.view().controllers.some((c) => c.admin !== null), 'the workload enabled a controller that the restore drops');
      assert.equal(r.vm.units.vmbus.guest.save(), vm.units.vmbus.guest.save(), 'the ring positions in VTL0 memory came back');
    }));
  }
}

test('a second snapshot after a small workload stores only changed blobs', () => withStore(async (store) => {
  const vm = bootWithWorkload(presetConfig('numa'), { seed: 3, steps: 200 });
  const first = await saveVm(vm, store);
  const r = await restoreSnapshot(store, first.id);
  r.vm.units.serial[0]!.write(0x41); // one UART byte: only that UART (and init/hv bookkeeping) change
  const second = await saveVm(r.vm, store, { parent: first.id });
  const unitBytes = (n: string) => second.units.find((u) => u.name === n)?.bytes ?? 0;
  assert.ok(second.newBytes < first.newBytes / 2, `${second.newBytes} vs ${first.newBytes}`);
  assert.ok(second.newBytes >= unitBytes(r.vm.units.serial[0]!.name));
  assert.ok(second.newBytes < first.bytes - unitBytes('partition'));
}));

test('host command line override reaches the restored kernel and state survives', () => withStore(async (store) => {
  const vm = bootWithWorkload(presetConfig('numa'), { seed: 5, steps: 100 });
  const saved = await saveVm(vm, store);
  const r = await restoreSnapshot(store, saved.id, { sets: ['cmdline.host=quiet OPENHCL_FOO=bar'] });
  assert.ok(cmdlineOf(r.vm).endsWith('quiet OPENHCL_FOO=bar'));
  assert.is(r.vm.kernel.env['OPENHCL_FOO'], 'bar');
  assert.ok(r.proof.ok);
  assert.equal(r.overrides, [{ path: 'cmdline.host', value: 'quiet OPENHCL_FOO=bar' }]);
}));

test('sidecar=off starts every CPU in Linux; the proof explains the role changes', () => withStore(async (store) => {
  const vm = bootWithWorkload(presetConfig('numa'), { seed: 6, steps: 100 });
  assert.is(vm.kernel.online().length, 4);
  const saved = await saveVm(vm, store);
  const r = await restoreSnapshot(store, saved.id, { sets: ['sidecar=off'] });
  assert.is(r.vm.kernel.online().length, 64);
  assert.ok(r.vm.units.partition.save().vps.every((v) => r.vm.units.partition.vpState(v.vpIndex).vp.role === 'linux'));
  assert.ok(r.proof.ok);
  assert.ok(r.proof.differences.length > 0 && r.proof.differences.every((d) => d.unit === 'partition' && /^vps\[\d+\]\.data\.role$/.test(d.path) && d.allowed !== undefined));
}));

test('CPUs with outstanding NVMe I/O at save start in Linux after restore', () => withStore(async (store) => {
  const vm = bootWithWorkload(presetConfig('numa'), { seed: 8, steps: 0 });
  vm.units.nvme.enable(0, 0x1000n);
  const qid = vm.units.nvme.createIoQueue(0, 37);
  vm.units.nvme.submit(0, qid, 7);
  assert.not.ok(vm.kernel.online().includes(37));
  const saved = await saveVm(vm, store);
  const r = await restoreSnapshot(store, saved.id);
  assert.ok(r.vm.kernel.online().includes(37));
  assert.ok(r.proof.ok);
  assert.equal(r.vm.units.nvme.view().controllers[0]?.ioQueues.map((q) => [q.targetVp, q.inFlight]), [[37, [7]]]);
}));

// dispatch/mod.rs LoadedVm::save saves the NVMe manager only with keep-alive
// (`n.save(nvme_keepalive_mode.is_enabled())`, manager.rs NvmeManager::save returns None otherwise),
// and handle_servicing_inner derives the persisted CPU lists from that state (nvme_interrupt_state of
// None is empty). So without keep-alive the restored controllers have no queues and CPU 37 starts
// in the sidecar; with keep-alive its queue survives, and a shim that leaves it in the sidecar (the
// planted defect) leaves a queue bound to a sidecar CPU: the oracle's finding.
for (const keepAlive of [true, false]) {
  test(`keep-alive ${keepAlive ? 'on' : 'off'}: the NVMe state ${keepAlive ? 'survives and a queue on a sidecar CPU is flagged' : 'is not saved, the controllers restart, nothing is flagged'}`, () => withStore(async (store) => {
    const vm = bootWithWorkload({ ...presetConfig('numa'), keepAlive: { nvme: keepAlive } }, { seed: 8, steps: 0 });
    vm.units.nvme.enable(0, 0x1000n);
    vm.units.nvme.submit(0, vm.units.nvme.createIoQueue(0, 37), 7);
    const saved = await saveVm(vm, store);
    const init = decodeParts(await store.getSnapshot(saved.id)).init;
    assert.is(init.nvmeState !== undefined, keepAlive);
    const r = await restoreSnapshot(store, saved.id, { plant: 'sidecar-ignores-outstanding-io' });
    assert.not.ok(r.vm.kernel.online().includes(37));
    assert.ok(r.proof.ok);
    assert.equal(r.vm.units.nvme.view().controllers[0]?.ioQueues.length, keepAlive ? 1 : 0);
    assert.equal(r.inconsistencies.map((x) => `${x.kind}: ${x.message}`), keepAlive ? ['queue-on-sidecar-cpu: nvme nvme0 (controller 0) queue 1: 1 commands in flight, their interrupt targets cpu 37, which starts in the sidecar'] : []);
  }));
}

test('keep-alive changed by the restore: the proof allows exactly the NVMe state that follows it', () => withStore(async (store) => {
  for (const keepAlive of [true, false]) {
    const vm = bootWithWorkload({ ...presetConfig('numa'), keepAlive: { nvme: keepAlive } }, { seed: 9, steps: 200 });
    const saved = await saveVm(vm, store);
    const r = await restoreSnapshot(store, saved.id, { sets: [`keepAlive=${!keepAlive}`] });
    assert.ok(r.proof.ok, JSON.stringify(r.proof.differences.filter((d) => d.allowed === undefined).slice(0, 2), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
    const nvme = r.proof.differences.filter((d) => d.unit === 'init');
    assert.ok(nvme.length > 0 && nvme.every((d) => d.allowed?.includes(keepAlive ? 'keep-alive is off on this boot' : 'restarted fresh')), JSON.stringify(nvme.map((d) => d.allowed)));
  }
}));

// The stored `persisted` part of a save, decoded by protobufjs against the .proto written from
// loader_defs (test/abi/fixtures): the map openvmm_hcl parsed and nvme_interrupt_state's lists.
test('a save\'s persisted part decodes with the real SavedState layout', () => withStore(async (store) => {
  const vm = bootWithWorkload(presetConfig('numa'), { seed: 8, steps: 0 });
  vm.units.nvme.enable(0, 0x1000n);
  vm.units.nvme.submit(0, vm.units.nvme.createIoQueue(0, 37), 7);
  vm.units.nvme.createIoQueue(0, 12);
  const saved = await saveVm(vm, store);
  const snap = await store.getSnapshot(saved.id);
  const bytes = snap.parts.get('persisted')!;
  const root = protobuf.loadSync(fileURLToPath(new URL('../abi/fixtures/openhcl_boot.proto', import.meta.url)));
  const SavedState = root.lookupType('openhcl.openhcl_boot.SavedState');
  const o = SavedState.toObject(SavedState.decode(bytes), { longs: String, enums: String, defaults: true }) as {
    partitionMemory: Array<{ range: { start: string; end: string }; vtlType: string }>; partitionMmio: unknown[];
    cpusWithMappedInterruptsNoIo: number[]; cpusWithOutstandingIo: number[];
  };
  const map = vm.discovered.partitionMemoryMap;
  const memory = map.filter((e) => !e.vtlType.endsWith('_MMIO'));
  assert.equal(o.partitionMemory.map((m) => [m.vtlType, Number(m.range.start), Number(m.range.end)]), memory.map((e) => [e.vtlType, e.range.base, e.range.base + e.range.size]));
  assert.is(o.partitionMmio.length, map.length - memory.length);
  assert.equal(o.cpusWithMappedInterruptsNoIo, [12]);
  assert.equal(o.cpusWithOutstandingIo, [37]);
}));

// Expected outcomes from openvmm's code: openhcl_boot host_params/dt/mod.rs
// topology_from_persisted_state takes CPUs and VTL0 RAM from the host and MMIO from the saved
// state, and assert_eq!s only VTL2 RAM (host mode) — a panic; vmm_core partition_unit/vp_set.rs
// restore fails a saved VP index the partition lacks with UnknownEntryId.
const numa = presetConfig('numa');
const small = presetConfig('small');
const refused: Array<[string, string, string[], 'shim-panic' | 'usermode-error', string]> = [
  ['fewer VPs', 'numa', ['vps=' + JSON.stringify(numa.vps.slice(0, 63))], 'usermode-error', 'hv: restore failed: unknown entry id: vp63 (the partition has 63 vps, the saved state 64)'],
  ['a VTL2 RAM size (host mode)', 'small', [`vtl2.size=${small.vtl2.size + 0x20_0000}`], 'shim-panic', 'vtl2 ram from persisted state does not match host provided ram'],
  ['the VTL2 RAM vnode (host mode)', 'numa', ['vtl2.vnode=1'], 'shim-panic', 'vtl2 ram from persisted state does not match host provided ram'],
];
for (const [what, preset, sets, kind, text] of refused) {
  test(`${what}: ${kind}, the store unchanged`, () => withStore(async (store) => {
    const saved = await saveVm(bootWithWorkload(presetConfig(preset), { seed: 2, steps: 50 }), store);
    const before = await store.list();
    try {
      await restoreSnapshot(store, saved.id, { sets });
      assert.unreachable('restore accepted');
    } catch (e) {
      assert.equal(failedRestoreOutcome(e)?.kind, kind, String(e));
      assert.ok((e as Error).message.includes(text), (e as Error).message);
      assert.is((e as { exitCode: number }).exitCode, 1);
      if (kind === 'shim-panic') assert.match((e as Error).message, /^shim restore: OpenHCL would panic here: /);
      else assert.match((e as Error).message, /^openvmm_hcl restore failed \(a usermode error/);
    }
    assert.equal(await store.list(), before);
    assert.equal((await store.verify()).problems, []);
  }));
}

const accepted: Array<[string, string, string[], string[]]> = [
  ["a VP's vnode", 'numa', ['vps[5].vnode=2'], ['vp-moved: vp 5: saved on vnode 0, the host now puts it on vnode 2']],
  ["a VP's APIC ID", 'numa', ['vps[5].reg=200'], ['vp-moved: vp 5: saved as apic id/mpidr 0x5, the host now gives it 0xc8']],
  // vp_set.rs VpSet::restore restores only the VPs named in the saved state: the new VP starts from reset.
  ['the VP count (one more)', 'small', ['vps=' + JSON.stringify([...small.vps, { reg: 4, vnode: 0 }])], ['vp-without-state: vp 4: the host has it, the snapshot has no saved state for it (it starts from reset)']],
  ['VTL0 MMIO', 'small', [`mmio.vtl0[0].size=${small.mmio.vtl0[0]!.size - 0x100000}`], ['mmio-differs: vtl0 mmio: the paravisor uses [0xe0000000+0x20000000, 0x100000000+0xfc0000000], the host offers [0xe0000000+0x1ff00000, 0x100000000+0xfc0000000]']],
];
for (const [what, preset, sets, found] of accepted) {
  test(`a changed ${what} is accepted as OpenHCL accepts it, and the oracle says what does not fit`, () => withStore(async (store) => {
    const saved = await saveVm(bootWithWorkload(presetConfig(preset), { seed: 2, steps: 50 }), store);
    const r = await restoreSnapshot(store, saved.id, { sets });
    assert.equal(r.outcome, { layer: 'oracle', kind: 'accepted-inconsistent' });
    assert.is(r.topologyConsistent, false);
    assert.equal(r.inconsistencies.map((x) => `${x.kind}: ${x.message}`), found);
    assert.ok(r.proof.ok);
  }));
}

test('a VP the host added starts from reset in the hypervisor and every per-VP unit; the proof allows only its new entries', () => withStore(async (store) => {
  const saved = await saveVm(bootWithWorkload(small, { seed: 2, steps: 50 }), store);
  const r = await restoreSnapshot(store, saved.id, { sets: ['vps=' + JSON.stringify([...small.vps, { reg: 4, vnode: 0 }])] });
  const fresh = bootWithWorkload({ ...small, vps: [...small.vps, { reg: 4, vnode: 0 }] }, null);
  const regs = (hv: typeof r.vm.hv) => hv.registerNames().map((n) => hv.getRegister(4, n));
  assert.equal(regs(r.vm.hv), regs(fresh.hv), 'vp 4 has the reset registers of a fresh boot');
  assert.equal(r.vm.units.partition.save().vps[4], fresh.units.partition.save().vps[4]);
  assert.equal(r.proof.differences.map((d) => `${d.unit} ${d.path}: ${d.allowed === undefined ? 'not allowed' : 'allowed'}`), ['partition vps[4]: allowed', 'hv vps[4]: allowed']);
}));

test('a VTL0-RAM-only change is accepted by the shim and judged by the oracle: inconsistent only under live DMA', () => withStore(async (store) => {
  const vm = bootWithWorkload(numa, { seed: 2, steps: 0 });
  const ram0 = numa.numa[0]!.memory[0]!;
  const ram1 = numa.numa[1]!.memory[0]!;
  vm.units.nvme.enable(0, BigInt(ram0.base) + 0x1000n); // admin queues DMA into node 0's RAM
  const saved = await saveVm(vm, store);
  const elsewhere = await restoreSnapshot(store, saved.id, { sets: [`numa[1].memory[0].size=${ram1.size - 0x100000}`] });
  assert.equal(elsewhere.outcome, { layer: 'oracle', kind: 'accepted-consistent' });
  assert.equal(elsewhere.vm.discovered.topology.nodes[1]!.memory[0], { base: ram1.base, size: ram1.size - 0x100000 }, 'VTL0 RAM comes from the host');
  const under = await restoreSnapshot(store, saved.id, { sets: [`numa[0].memory[0].size=${ram0.size - 0x100000}`] });
  assert.equal(under.outcome, { layer: 'oracle', kind: 'accepted-inconsistent' });
  assert.equal(under.inconsistencies.map((x) => x.kind), ['dma-target-moved', 'dma-target-moved']);
  assert.match(under.inconsistencies[0]!.message, /^nvme nvme0 \(controller 0\): admin submission queue at 0x1000 is in vtl0 ram 0x0\+0x/);
  assert.ok(under.proof.ok);
  // Without keep-alive the controller is reset at save and restarts: no DMA is live under the change.
  const off = bootWithWorkload({ ...numa, keepAlive: { nvme: false } }, { seed: 2, steps: 0 });
  off.units.nvme.enable(0, BigInt(ram0.base) + 0x1000n);
  const fresh = await restoreSnapshot(store, (await saveVm(off, store)).id, { sets: [`numa[0].memory[0].size=${ram0.size - 0x100000}`] });
  assert.equal(fresh.outcome, { layer: 'oracle', kind: 'accepted-consistent' });
}));

test('servicing refuses every isolated VM, VBS included, and the VM runs on', () => withStore(async (store) => {
  const vm = bootWithWorkload({ ...small, isolation: 'vbs' }, null);
  try {
    await saveVm(vm, store);
    assert.unreachable('saved a VBS VM');
  } catch (e) {
    assert.ok(isHclError(e, 'SERVICING_REFUSED'), String(e));
    assert.match((e as Error).message, /isolated vms cannot be serviced/);
  }
  assert.is(vm.servicing.paused, false);
  assert.equal(await store.list(), []);
}));

test('the save deadline is the host hint; a hint of 65535 s or more means 200 s (dispatch/mod.rs ServicingRequest)', () => {
  assert.is(servicingDeadlineMs(1500), 1500);
  assert.is(servicingDeadlineMs(65_534_999), 65_534_999);
  assert.is(servicingDeadlineMs(65_535_000), 200_000);
  assert.is(servicingDeadlineMs(Number.MAX_SAFE_INTEGER), 200_000);
});

test('servicing to a new IGVM switches the usermode version and keeps state and topology', () => withStore(async (store) => {
  const config = presetConfig('small');
  const vm = bootWithWorkload(config, { seed: 4, steps: 200 });
  assert.is(vm.usermodeVersion, '1.7.0');
  const saved = await saveVm(vm, store);
  const igvm = buildPackage(packageOptionsFor(config, '1.8.0'));
  const r = await restoreSnapshot(store, saved.id, { igvm });
  assert.is(r.vm.usermodeVersion, '1.8.0');
  assert.ok(r.proof.ok);
  assert.equal(r.vm.discovered.topology, vm.discovered.topology);
  runWorkload(r.vm.units, r.vm.hv, { seed: 1, steps: 10 });
  const again = await saveVm(r.vm, store, { parent: saved.id });
  const m = await store.getManifest(again.id);
  assert.is(m.info['usermodeVersion'], '1.8.0');
}));

test('a failed save leaves the store as it was and the VM running', () => withStore(async (store) => {
  const vm = bootWithWorkload(presetConfig('small'), { seed: 1, steps: 10 });
  process.env['HCLCKPT_FAULT'] = 'store-write-fail';
  try {
    await saveVm(vm, store);
    assert.unreachable();
  } catch (e) {
    assert.ok(isHclError(e, 'STORE_WRITE_FAILED'), String(e));
  } finally {
    delete process.env['HCLCKPT_FAULT'];
  }
  assert.equal(await store.list(), []);
  assert.not.ok(vm.servicing.paused);
  const ok = await saveVm(vm, store);
  assert.is(ok.seq, 1);
}));

test('save --generation 1 writes the older schemas and restores with proof (upgraded on read)', () => withStore(async (store) => {
  const vm = bootWithWorkload(presetConfig('small'), { seed: 11, steps: 300 });
  const saved = await saveVm(vm, store, { generation: 1 });
  assert.ok(saved.units.every((u) => u.generation === 1), JSON.stringify(saved.units));
  const m = await store.getManifest(saved.id);
  assert.is(m.info['generation'], 1);
  assert.equal(m.parts.filter((p) => p.name.startsWith('unit/')).map((p) => p.meta['generation']), saved.units.map(() => 1));
  const r = await restoreSnapshot(store, saved.id);
  assert.ok(r.proof.ok, JSON.stringify(r.proof.differences.slice(0, 2)));
  assert.equal(r.vm.units.serial.map((u) => u.save()), vm.units.serial.map((u) => u.save()));
}));

test('save --generation 3 writes the retired units as that release did, ring positions inside vmbus.server.channels, and restores with proof', () => withStore(async (store) => {
  const vm = bootWithWorkload(presetConfig('numa'), { seed: 17, steps: 400 });
  const rings = vm.units.vmbus.guest.save();
  assert.ok(rings.rings.some((r) => r.inp !== 0), 'the workload moved some ring');
  const saved = await saveVm(vm, store, { generation: 3 });
  const names = saved.units.map((u) => u.name);
  assert.ok(names.includes('serial.16550') && names.includes('vmbus.server.channels') && !names.includes('vmbus') && !names.some((n) => n.startsWith('serial-')), names.join(','));
  const snap = await store.getSnapshot(saved.id);
  const old = defaultRegistry().decodeState('vmbus.server.channels', 3, snap.parts.get('unit/vmbus.server.channels')!, 'test') as VmbusStateV3;
  // What the generation-3 release kept in its unit is what VTL0 memory holds.
  assert.equal(legacyRings(old), rings);
  const r = await restoreSnapshot(store, saved.id);
  assert.ok(r.proof.ok, JSON.stringify(r.proof.differences.slice(0, 2), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
  assert.equal(r.vm.units.vmbus.save(), vm.units.vmbus.save());
  assert.equal(r.vm.units.vmbus.guest.save(), rings);
  assert.equal(r.vm.units.serial.map((u) => u.save()), vm.units.serial.map((u) => u.save()));
}));

test('a gen-4 snapshot keeps the ring positions out of the vmbus unit, in the host-side vtl0 part', () => withStore(async (store) => {
  const vm = bootWithWorkload(presetConfig('small'), { seed: 18, steps: 300 });
  const saved = await saveVm(vm, store);
  const snap = await store.getSnapshot(saved.id);
  assert.equal(decodeCanonical(snap.parts.get('vtl0')!, 'vtl0'), vm.units.vmbus.guest.save());
  assert.equal(snap.manifest.parts.find((p) => p.name === 'unit/vmbus')?.meta['type'], 'vmbus.server.SavedState');
  // A damaged vtl0 part is refused before any unit restores.
  const parts = snap.manifest.parts.map((p) => ({ name: p.name, meta: p.meta, bytes: p.name === 'vtl0' ? encodeCanonical({ rings: [{ gpa: 1n, inp: 0, outp: 0 }] }) : snap.parts.get(p.name)! }));
  const bad = await store.putSnapshot({ name: 'bad', parent: null, info: snap.manifest.info, parts });
  try {
    await restoreSnapshot(store, bad.id);
    assert.unreachable('accepted');
  } catch (e) {
    assert.ok(isHclError(e, 'STATE_SCHEMA'), String(e));
    assert.match((e as Error).message, 'vtl0: rings[0].gpa: 0x1 is not page aligned');
  }
}));

test('save --generation 2 writes what the generation-2 release read: nvme and serial at 2, the rest at 1, all name-keyed', () => withStore(async (store) => {
  // With keep-alive (numa) there is NVMe state to write back as the nvme unit.
  const vm = bootWithWorkload(presetConfig('numa'), { seed: 13, steps: 300 });
  const saved = await saveVm(vm, store, { generation: 2 });
  assert.equal(Object.fromEntries(saved.units.map((u) => [u.name, u.generation])), {
    'rtc.cmos': 1, 'serial.16550': 2, nvme: 2, vp: 1, synic: 1, 'vmbus.server.channels': 1,
  });
  const snap = await store.getSnapshot(saved.id);
  for (const u of saved.units) {
    // Name-keyed canonical msgpack, exactly what generations 1 and 2 wrote: property names as keys.
    const raw = decodeCanonical(snap.parts.get(`unit/${u.name}`)!, u.name) as Record<string, unknown>;
    assert.ok(Object.keys(raw).every((k) => /^[a-z]/i.test(k)), `${u.name}: ${Object.keys(raw).join(',')}`);
  }
  // The init state too, as the generation-2 release wrote it: topology, options and version inside.
  const init = decodeCanonical(snap.parts.get('init')!, 'init') as Record<string, unknown>;
  assert.equal(Object.keys(init).sort(), ['correlationId', 'emuplat', 'firmwareType', 'options', 'topology', 'usermodeVersion', 'vmStopReferenceTime']);
  assert.equal(init['topology'], vm.discovered.topology);
  const r = await restoreSnapshot(store, saved.id);
  assert.ok(r.proof.ok, JSON.stringify(r.proof.differences.slice(0, 2)));
}));

// Generation 4 moved the nvme unit into init_state.nvme_state (lib/hcl/units/nvme-unit.ts NVME_STEP):
// `save --generation 3` writes it back as the unit, and a restore of that brings it back in.
test('save --generation 3 writes the NVMe state as the nvme unit (keep-alive) or not at all, and restores with proof', () => withStore(async (store) => {
  for (const keepAlive of [true, false]) {
    const vm = bootWithWorkload({ ...presetConfig('numa'), keepAlive: { nvme: keepAlive } }, { seed: 15, steps: 300 });
    const saved = await saveVm(vm, store, { generation: 3 });
    assert.equal(saved.units.find((u) => u.name === 'nvme')?.generation, keepAlive ? 3 : undefined);
    const parts = decodeParts(await store.getSnapshot(saved.id));
    assert.is(parts.init.nvmeState, undefined, 'generation 3 had no NVMe manager state');
    assert.is((await store.getManifest(saved.id)).info['generation'], 3);
    const r = await restoreSnapshot(store, saved.id);
    assert.ok(r.proof.ok, JSON.stringify(r.proof.differences.slice(0, 2), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
    assert.equal(r.vm.units.nvme.view(), keepAlive ? vm.units.nvme.view() : vm.units.nvme.defaultState());
    assert.ok(vm.units.nvme.view().controllers.some((c) => c.ioQueues.length > 0), 'the workload made I/O queues');
  }
}));

// vm/vmcore/src/save_restore.rs: a unit's state is a `SavedStateBlob` (a protobuf Any, type URL
// and bytes), and `SavedStateBlob::parse::<T>` fails for an Any of another type. hclckpt records
// package.message as each unit part's `type` and restore checks it before decoding.
test('restore refuses a unit blob recorded as another type or package (STATE_TYPE_MISMATCH), and writes nothing', () => withStore(async (store) => {
  const vm = bootWithWorkload(presetConfig('small'), { seed: 14, steps: 50 });
  const saved = await saveVm(vm, store);
  const snap = await store.getSnapshot(saved.id);
  const parts = (change: (name: string, meta: Record<string, unknown>) => Record<string, unknown>) => snap.manifest.parts.map((p) => ({ name: p.name, bytes: snap.parts.get(p.name)!, meta: change(p.name, { ...p.meta }) }));
  assert.equal(snap.manifest.parts.find((p) => p.name === 'unit/rtc.cmos')?.meta['type'], 'openvmm.rtc.cmos.SavedState');
  const cases: Array<[string, (n: string, m: Record<string, unknown>) => Record<string, unknown>, string]> = [
    ['type', (n, m) => (n === 'unit/rtc.cmos' ? { ...m, type: 'partition.Partition' } : m), 'unit rtc.cmos: saved state type "partition.Partition", expected "openvmm.rtc.cmos.SavedState"'],
    ['package', (n, m) => (n === 'unit/partition' ? { ...m, package: 'openvmm.synic' } : m), 'unit partition: saved state package "openvmm.synic", expected "partition"'],
  ];
  for (const [what, change, msg] of cases) {
    const bad = await store.putSnapshot({ name: `bad-${what}`, info: snap.manifest.info, parts: parts(change) });
    const before = await store.list();
    try {
      await restoreSnapshot(store, bad.id);
      assert.unreachable(`${what} accepted`);
    } catch (e) {
      assert.ok(isHclError(e, 'STATE_TYPE_MISMATCH'), String(e));
      assert.ok((e as Error).message.includes(msg), (e as Error).message);
    }
    assert.equal(await store.list(), before);
  }
}));

test('save --generation outside 1..4 is refused, leaving store and VM as they were', () => withStore(async (store) => {
  const vm = bootWithWorkload(presetConfig('small'), { seed: 12, steps: 0 });
  for (const g of [0, 5, 2.5]) {
    try {
      await saveVm(vm, store, { generation: g });
      assert.unreachable();
    } catch (e) {
      assert.ok(isHclError(e, 'STATE_GENERATION'), String(e));
      assert.match((e as Error).message, /writes generations 1\.\.4/);
    }
    assert.not.ok(vm.servicing.paused);
  }
  assert.equal(await store.list(), []);
}));

// In vtl2 allocation mode the shim takes the memory map from the persisted state, not from the
// host (openvmm openhcl/openhcl_boot/src/host_params/dt/mod.rs, topology_from_persisted_state):
// a new VTL2 size from the host is not what the restored paravisor runs with.
test('restore reports the topology inconsistent when the saved VTL2 carve wins over the host\'s new size', () => withStore(async (store) => {
  const small = presetConfig('small');
  // vtl2 mode loads the image in host RAM (allocate_vtl2_ram): here at the top of node 0's.
  const top = small.numa[0]!.memory[0]!.base + small.numa[0]!.memory[0]!.size - small.vtl2.size;
  // NVMe keep-alive on, so the controllers (and their DMA into VTL0 RAM) are kept across servicing.
  const config = validateConfig({ ...small, keepAlive: { nvme: true }, vtl2: { ...small.vtl2, mode: 'vtl2', base: top } });
  const saved = await saveVm(bootWithWorkload(config, { seed: 7, steps: 50 }), store);
  const same = await restoreSnapshot(store, saved.id);
  assert.is(same.topologyConsistent, true);
  assert.equal(same.inconsistencies, []);
  const bigger = await restoreSnapshot(store, saved.id, { sets: [`vtl2.size=${config.vtl2.size * 2}`] });
  assert.ok(bigger.proof.ok, 'the restore itself succeeds and proves');
  assert.is(bigger.topologyConsistent, false);
  assert.equal(bigger.outcome, { layer: 'oracle', kind: 'accepted-inconsistent' });
  // allocate_vtl2_ram on one node, image 64 MiB at 0x78000000 in RAM [0, 0x80000000): memory-size
  // 128 MiB adds the free top [0x7c000000, 0x80000000); 256 MiB also takes 128 MiB off the top of
  // [0, 0x78000000). The paravisor keeps the saved carve [0x78000000, +128 MiB); the host now
  // offers [0x70000000, +256 MiB) and VTL0 RAM [0, 0x70000000) instead of [0, 0x78000000), under
  // the NVMe admin queues (DMA into VTL0 RAM the host changed).
  // So are the VMBus GPADLs the workload described there, one finding each.
  const gpadls = bigger.vm.units.vmbus.save().server.state.gpadls.length;
  assert.ok(gpadls > 0);
  assert.equal(bigger.inconsistencies.map((x) => x.kind), [...Array<string>(2 + gpadls).fill('dma-target-moved'), 'vtl2-ram-differs']);
  assert.ok(bigger.inconsistencies.slice(2, 2 + gpadls).every((x) => /^vmbus channel \d+: gpadl \d+ page at 0x[0-9a-f]+ is in vtl0 ram 0x0\+0x78000000/.test(x.message)));
  assert.match(bigger.inconsistencies[0]!.message, /admin submission queue at 0x[0-9a-f]+ is in vtl0 ram 0x0\+0x78000000 \(vnode 0\), which the host changed/);
  // Where VTL2 sits is VTL2's choice in this mode; how much it has per vnode is the host's.
  assert.is(bigger.inconsistencies[2 + gpadls]!.message, "vtl2 ram per vnode: the paravisor uses [vnode 0: 0x8000000], the host's memory-size asks for [vnode 0: 0x10000000]");
}));

// The proof's allow-list, fed wrong states: only a VP's role may differ (the boot decides it);
// any other per-VP field, any other unit, the hypervisor's registers and the vtl0 part must show as not allowed.
test('proofDifferences allows a VP\'s role and nothing else, and covers the hv and vtl0 parts', () => {
  const vm = bootWithWorkload(presetConfig('numa'), { seed: 21, steps: 200 });
  const saved = captureVm(vm, { timeoutMs: 30_000, correlationId: '00000000-0000-4000-8000-000000000001' });
  const units = saved.state.units;
  const hv = saved.hv as HvState;
  const vtl0 = { before: saved.vtl0, after: saved.vtl0 };
  assert.ok(saved.vtl0.rings.length > 0, 'the workload opened channels');
  assert.equal(proofDifferences(units, structuredClone(units), hv, structuredClone(hv), { before: saved.vtl0, after: structuredClone(saved.vtl0) }), [], 'identical states differ nowhere');
  const edit = (name: string, change: (s: Record<string, unknown>) => void) => units.map((u) => {
    const copy = structuredClone(u);
    if (u.name === name) change(copy.state as Record<string, unknown>);
    return copy;
  });
  // Flips one byte of VP 1's data (vp-layout.ts offsets); the proof names the field by its layout name.
  const flip = (offset: number) => edit('partition', (s) => { const d = (s['vps'] as PartitionVp[])[1]!.data; d[offset] = d[offset]! ^ 1; });
  const role = proofDifferences(units, flip(VP_OFFSET.role), hv, hv, vtl0);
  assert.equal(role.map((d) => [d.unit, d.path, d.allowed !== undefined]), [['partition', 'vps[1].data.role', true]]);
  const halted = proofDifferences(units, flip(VP_OFFSET.halted), hv, hv, vtl0);
  assert.equal(halted.map((d) => [d.unit, d.path, d.allowed]), [['partition', 'vps[1].data.halted', undefined]]);
  const otherUnit = proofDifferences(units, edit('serial-com1', (s) => { s['role'] = 'linux'; }), hv, hv, vtl0);
  assert.ok(otherUnit.length > 0 && otherUnit.every((d) => d.unit === 'serial-com1' && d.allowed === undefined), JSON.stringify(otherUnit));
  // The register file is bytes; the proof names the register that differs.
  const regs = hvByName(hv);
  const reg = Object.keys(regs.vps[0]!.registers)[0]!;
  regs.vps[0]!.registers[reg] = regs.vps[0]!.registers[reg]! + 1n;
  const hvDiff = proofDifferences(units, units, hv, hvFromNamed(regs), vtl0);
  assert.equal(hvDiff.map((d) => [d.unit, d.path, d.allowed]), [['hv', `vps[0].registers.${reg}`, undefined]]);
  // A ring position in VTL0 memory that did not come back is a difference, never allowed.
  const moved = structuredClone(saved.vtl0);
  moved.rings[0]!.inp += 8;
  assert.equal(proofDifferences(units, units, hv, hv, { before: saved.vtl0, after: moved }).map((d) => [d.unit, d.path, d.allowed]), [['vtl0', 'rings[0].inp', undefined]]);
});

test.run();
