import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { presetConfig, validateConfig } from '../../lib/config/index.ts';
import { isHclError } from '../../lib/errors.ts';
import { hvByName, hvFromNamed, type HvState } from '../../lib/hv/index.ts';
import { buildPackage, packageOptionsFor } from '../../lib/host/index.ts';
import { decodeCanonical } from '../../lib/state/index.ts';
import { openStore, type SnapshotStore } from '../../lib/store/index.ts';
import { bootWithWorkload, captureVm, proofDifferences, restoreSnapshot, saveVm } from '../../harness/servicing.ts';
import { runWorkload } from '../../harness/workload.ts';

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
      assert.equal(saved.units.map((u) => u.name).sort(), ['nvme', 'rtc.cmos', 'serial.16550', 'synic', 'vmbus.server.channels', 'vp']);
      const r = await restoreSnapshot(store, saved.id);
      assert.ok(r.proof.ok, JSON.stringify(r.proof.differences.slice(0, 3), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
      assert.is(r.proof.units, 6);
      for (const u of vm.units.all) {
        if (u.name === 'vp') continue; // roles are re-derived by the boot; compared by the proof rule
        assert.equal(r.vm.units.all.find((x) => x.name === u.name)?.save(), u.save(), u.name);
      }
      assert.equal(r.vm.hv.save(), vm.hv.save());
    }));
  }
}

test('a second snapshot after a small workload stores only changed blobs', () => withStore(async (store) => {
  const vm = bootWithWorkload(presetConfig('numa'), { seed: 3, steps: 200 });
  const first = await saveVm(vm, store);
  const r = await restoreSnapshot(store, first.id);
  r.vm.units.serial.write(0, 0x41); // one UART byte: only serial (and init/hv bookkeeping) change
  const second = await saveVm(r.vm, store, { parent: first.id });
  const unitBytes = (n: string) => second.units.find((u) => u.name === n)?.bytes ?? 0;
  assert.ok(second.newBytes < first.newBytes / 2, `${second.newBytes} vs ${first.newBytes}`);
  assert.ok(second.newBytes >= unitBytes('serial.16550'));
  assert.ok(second.newBytes < first.bytes - unitBytes('nvme') - unitBytes('vp'));
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
  assert.ok(r.vm.units.vp.save().vps.every((v) => v.role === 'linux'));
  assert.ok(r.proof.ok);
  assert.ok(r.proof.differences.length > 0 && r.proof.differences.every((d) => d.unit === 'vp' && d.allowed !== undefined));
}));

test('CPUs with outstanding NVMe I/O at save start in Linux after restore', () => withStore(async (store) => {
  const vm = bootWithWorkload(presetConfig('numa'), { seed: 8, steps: 0 });
  vm.units.nvme.enable(0, 0x1000n, 0x2000n);
  const qid = vm.units.nvme.createIoQueue(0, 37);
  vm.units.nvme.submit(0, qid, 7);
  assert.not.ok(vm.kernel.online().includes(37));
  const saved = await saveVm(vm, store);
  const r = await restoreSnapshot(store, saved.id);
  assert.ok(r.vm.kernel.online().includes(37));
  assert.ok(r.proof.ok);
}));

const changes: Array<[string, string, string[]]> = [
  ['VP count', 'numa', ['vps=' + JSON.stringify(presetConfig('numa').vps.slice(0, 63))]],
  ["a VP's vnode", 'numa', ['vps[5].vnode=2']],
  ["a VP's APIC ID", 'numa', ['vps[5].reg=200']],
  ['memory size', 'numa', [`numa[1].memory[0].size=${presetConfig('numa').numa[1]!.memory[0]!.size - 0x100000}`]],
  ['MMIO', 'small', [`mmio.vtl0[0].size=${presetConfig('small').mmio.vtl0[0]!.size - 0x100000}`]],
];
for (const [what, preset, sets] of changes) {
  test(`a changed ${what} is refused with TOPOLOGY_MISMATCH and the store is unchanged`, () => withStore(async (store) => {
    const saved = await saveVm(bootWithWorkload(presetConfig(preset), { seed: 2, steps: 50 }), store);
    const before = await store.list();
    try {
      await restoreSnapshot(store, saved.id, { sets });
      assert.unreachable('restore accepted a topology change');
    } catch (e) {
      assert.ok(isHclError(e, 'TOPOLOGY_MISMATCH'), String(e));
      assert.match((e as Error).message, /differs from the saved one: /);
      assert.is((e as { exitCode: number }).exitCode, 1);
    }
    assert.equal(await store.list(), before);
    assert.equal((await store.verify()).problems, []);
  }));
}

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
  assert.equal(r.vm.units.serial.save(), vm.units.serial.save());
}));

test('save --generation 2 writes what the generation-2 release read: nvme and serial at 2, the rest at 1, all name-keyed', () => withStore(async (store) => {
  const vm = bootWithWorkload(presetConfig('small'), { seed: 13, steps: 300 });
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
    ['type', (n, m) => (n === 'unit/rtc.cmos' ? { ...m, type: 'openvmm.vp.SavedState' } : m), 'unit rtc.cmos: saved state type "openvmm.vp.SavedState", expected "openvmm.rtc.cmos.SavedState"'],
    ['package', (n, m) => (n === 'unit/vp' ? { ...m, package: 'openvmm.synic' } : m), 'unit vp: saved state package "openvmm.synic", expected "openvmm.vp"'],
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

test('save --generation 1 is refused when the state needs generation 2, leaving store and VM as they were', () => withStore(async (store) => {
  const vm = bootWithWorkload(presetConfig('small'), { seed: 12, steps: 0 });
  vm.units.nvme.enable(0, 0x1000n, 0x2000n);
  const qid = vm.units.nvme.createIoQueue(0, 1);
  vm.units.nvme.setInterruptCoalescing(0, qid, { time: 5, threshold: 3 });
  for (const g of [1, 0, 4]) {
    try {
      await saveVm(vm, store, { generation: g });
      assert.unreachable();
    } catch (e) {
      assert.ok(isHclError(e, 'STATE_GENERATION'), String(e));
      assert.match((e as Error).message, g === 1 ? /nvme/ : /writes generations 1\.\.3/);
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
  const config = validateConfig({ ...small, vtl2: { ...small.vtl2, mode: 'vtl2', base: top } });
  const saved = await saveVm(bootWithWorkload(config, { seed: 7, steps: 50 }), store);
  const same = await restoreSnapshot(store, saved.id);
  assert.equal(same.topologyDifferences, []);
  assert.is(same.topologyConsistent, true);
  const bigger = await restoreSnapshot(store, saved.id, { sets: [`vtl2.size=${config.vtl2.size * 2}`] });
  assert.ok(bigger.proof.ok, 'the restore itself succeeds and proves');
  assert.is(bigger.topologyConsistent, false);
  // allocate_vtl2_ram on one node, image 64 MiB at 0x78000000 in RAM [0, 0x80000000): memory-size
  // 128 MiB adds the free top [0x7c000000, 0x80000000); 256 MiB also takes 128 MiB off the top of
  // [0, 0x78000000). Expected (256 MiB) → restored (the saved 128 MiB carve):
  assert.equal(bigger.topologyDifferences, [
    'nodes[0].memory[0].size: 0x70000000 → 0x78000000',
    'vtl2Ram.length: 3 → 2',
    'vtl2Ram[0].base: 0x70000000 → 0x78000000',
    'vtl2Ram[0].size: 0x8000000 → 0x4000000',
    'vtl2Ram[1].base: 0x78000000 → 0x7c000000',
    'vtl2Ram[2]: {"base":2080374784,"size":67108864,"vnode":0} → (absent)',
  ]);
}));

// The proof's allow-list, fed wrong states: only a VP's role may differ (the boot decides it);
// any other vp field, any other unit and the hypervisor's registers must show as not allowed.
test('proofDifferences allows a VP\'s role and nothing else, and covers the hv part', () => {
  const vm = bootWithWorkload(presetConfig('numa'), { seed: 21, steps: 200 });
  const saved = captureVm(vm, { timeoutMs: 30_000, correlationId: '00000000-0000-4000-8000-000000000001' });
  const units = saved.state.units;
  const hv = saved.hv as HvState;
  assert.equal(proofDifferences(units, structuredClone(units), hv, structuredClone(hv)), [], 'identical states differ nowhere');
  const edit = (name: string, change: (s: { vps: Array<Record<string, unknown>> }) => void) => units.map((u) => {
    const copy = structuredClone(u);
    if (u.name === name) change(copy.state as { vps: Array<Record<string, unknown>> });
    return copy;
  });
  const role = proofDifferences(units, edit('vp', (s) => { s.vps[1]!['role'] = s.vps[1]!['role'] === 'linux' ? 'sidecar' : 'linux'; }), hv, hv);
  assert.equal(role.map((d) => [d.unit, d.path, d.allowed !== undefined]), [['vp', 'vps[1].role', true]]);
  const halted = proofDifferences(units, edit('vp', (s) => { s.vps[1]!['halted'] = !(s.vps[1]!['halted'] as boolean); }), hv, hv);
  assert.equal(halted.map((d) => [d.unit, d.path, d.allowed]), [['vp', 'vps[1].halted', undefined]]);
  const otherUnit = proofDifferences(units, edit('synic', (s) => { s.vps[0]!['role'] = 'linux'; }), hv, hv);
  assert.ok(otherUnit.length > 0 && otherUnit.every((d) => d.unit === 'synic' && d.allowed === undefined), JSON.stringify(otherUnit));
  // The register file is bytes; the proof names the register that differs.
  const regs = hvByName(hv);
  const reg = Object.keys(regs.vps[0]!.registers)[0]!;
  regs.vps[0]!.registers[reg] = regs.vps[0]!.registers[reg]! + 1n;
  const hvDiff = proofDifferences(units, units, hv, hvFromNamed(regs));
  assert.equal(hvDiff.map((d) => [d.unit, d.path, d.allowed]), [['hv', `vps[0].registers.${reg}`, undefined]]);
});

test.run();
