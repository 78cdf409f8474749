import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { presetConfig } from '../../../lib/config/index.ts';
import { PARTITION_STEP, PartitionUnit, createUnits, resetVp, type PartitionState, type SynicState, type VpState } from '../../../lib/hcl/units/index.ts';
import { HvPartition } from '../../../lib/hv/index.ts';
import type { InitState } from '../../../lib/state/index.ts';
import { defaultRegistry } from '../../../lib/snapshot/registry.ts';
import { openStore } from '../../../lib/store/index.ts';
import { bootWithWorkload, restoreSnapshot, saveVm } from '../../../harness/servicing.ts';
import { runWorkload } from '../../../harness/workload.ts';
import { testContext, throwsHcl, withoutRoles } from './fixture.ts';

// Generation 4's unit-set step: generation 3's `vp` (entries by index) and `synic` (entries by
// position) become one `partition` entry per VP, and back.

const INIT = {} as InitState; // the step passes the init state through untouched
const up = (units: Record<string, unknown>) => PARTITION_STEP.up(new Map(Object.entries(units)), INIT).units.get('partition') as PartitionState;
const down = (p: PartitionState) => {
  const out = PARTITION_STEP.down(new Map([['partition', p]]), INIT).units;
  return { vp: out.get('vp') as VpState, synic: out.get('synic') as SynicState };
};
const busy = (vps = 4) => {
  const ctx = testContext(vps);
  const u = createUnits(ctx);
  runWorkload(u, new HvPartition(ctx.topology), { seed: 3, steps: 2000 });
  return u.partition;
};

test('down then up is the identity on a partition a workload moved', () => {
  const p = busy().save();
  const old = down(p);
  assert.is(old.vp.vps.length, 4);
  assert.is(old.synic.vps.length, 4);
  defaultRegistry().validateUnitState('vp', old.vp);
  defaultRegistry().validateUnitState('synic', old.synic);
  assert.equal(up(old), p);
});

test('up merges both units per VP: vp by its index, synic by position', () => {
  const p = busy().save();
  const { vp, synic } = down(p);
  // vp entries in another order name the same VPs.
  assert.equal(up({ vp: { vps: [...vp.vps].reverse() }, synic }), p);
  const u = new PartitionUnit(testContext());
  u.restore(up({ vp, synic }));
  const { index: _index, ...rest } = vp.vps[2]!;
  assert.equal(u.vpState(2).vp, rest);
  assert.equal(u.vpState(2).synic, synic.vps[2]);
});

test('a snapshot holding only one of the two gives the other its reset state', () => {
  const { vp, synic } = down(busy().save());
  const onlyVp = up({ vp });
  assert.equal(onlyVp.vps.map((e) => e.vpIndex), [0, 1, 2, 3]);
  assert.equal(down(onlyVp).synic.vps, vp.vps.map(() => resetVp().synic));
  const onlySynic = up({ synic });
  assert.equal(down(onlySynic).vp.vps, synic.vps.map((_, index) => ({ index, ...resetVp().vp })));
  assert.equal(down(onlySynic).synic, synic);
});

test('a VP synic holds but vp skips, and the other way round, both come out with the missing half reset', () => {
  const { vp, synic } = down(busy().save());
  const p = up({ vp: { vps: vp.vps.filter((e) => e.index !== 1) }, synic: { vps: synic.vps.slice(0, 3) } });
  assert.equal(p.vps.map((e) => e.vpIndex), [0, 1, 2, 3]);
  const back = down(p);
  assert.equal(back.vp.vps[1], { index: 1, ...resetVp().vp });
  assert.equal(back.synic.vps[3], resetVp().synic);
});

test('down: generation 3 holds synic by position, so a VP the partition skips gets the reset SynIC there', () => {
  const p = busy().save();
  const back = down({ ...p, vps: p.vps.filter((e) => e.vpIndex !== 2) });
  assert.equal(back.vp.vps.map((e) => e.index), [0, 1, 3]);
  assert.equal(back.synic.vps.length, 4);
  assert.equal(back.synic.vps[2], resetVp().synic);
});

test('up refuses what the layout cannot hold and a vp unit naming a VP twice', () => {
  const { vp, synic } = down(busy().save());
  const three = { ...vp.vps[0]!, pendingEvents: [{ kind: 'nmi' as const, vector: 2 }, { kind: 'nmi' as const, vector: 2 }, { kind: 'exception' as const, vector: 6 }] };
  throwsHcl(() => up({ vp: { vps: [three] }, synic }), 'STATE_SCHEMA', 'partition: vp 0 of generation 3: 3 pending events, the per-VP layout holds 2');
  throwsHcl(() => up({ vp: { vps: [vp.vps[0]!, vp.vps[0]!] } }), 'HCL_DEVICE_INVALID', 'partition: generation 3 unit vp holds vp 0 twice');
});

test('save --generation 3 writes vp and synic as generation 3 did; restoring it gives back the same partition, with proof', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hclckpt-partition-step-'));
  const store = await openStore(dir);
  try {
    const vm = bootWithWorkload(presetConfig('numa'), { seed: 17, steps: 600 });
    const saved = await saveVm(vm, store, { generation: 3 });
    assert.equal(saved.units.map((u) => [u.name, u.package, u.generation]).sort(), [
      ['nvme', 'openvmm.nvme', 3], ['rtc.cmos', 'openvmm.rtc.cmos', 3], ['serial.16550', 'openvmm.serial.16550', 3],
      ['synic', 'openvmm.synic', 3], ['vmbus.server.channels', 'openvmm.vmbus.server.channels', 3], ['vp', 'openvmm.vp', 3],
    ]);
    const m = await store.getManifest(saved.id);
    assert.is(m.info['generation'], 3);
    assert.equal(m.parts.find((p) => p.name === 'unit/vp')?.meta['type'], 'openvmm.vp.SavedState');
    const r = await restoreSnapshot(store, saved.id);
    assert.ok(r.proof.ok, JSON.stringify(r.proof.differences.slice(0, 3), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
    vm.servicing.resume();
    assert.equal(withoutRoles(r.vm.units.partition.save()), withoutRoles(vm.units.partition.save()));
    // And today's generation again from the restored VM: the partition unit, nothing else changed.
    const again = await saveVm(r.vm, store, { parent: saved.id });
    assert.equal(again.units.map((u) => u.name).sort(), ['partition', 'rtc.cmos', 'serial-com1', 'serial-com2', 'serial-com3', 'vmbus']); // NVMe: in the init state
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
