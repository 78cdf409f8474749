import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { presetConfig } from '../../lib/config/index.ts';
import { diffSnapshots } from '../../lib/diff/index.ts';
import { X86_REGISTERS, hvByName, type HvNamedState, type HvState } from '../../lib/hv/index.ts';
import { PART, decodeParts, decodeSnapshot } from '../../lib/snapshot/index.ts';
import { decodeCanonical } from '../../lib/state/index.ts';
import { openStore } from '../../lib/store/index.ts';
import { tempDir } from '../store/helpers.ts';
import { bootWithWorkload, restoreSnapshot, saveVm } from '../../harness/servicing.ts';


test('the hv part is msgpack bin of the register file; show and diff read registers by name; a restore proves', async () => {
  const store = await openStore(await tempDir('hclckpt-hv-'));
  try {
    const vm = bootWithWorkload(presetConfig('numa'), { seed: 3, steps: 20 });
    const vps = vm.discovered.topology.vps.length;
    const a = await saveVm(vm, store);
    vm.servicing.resume();
    vm.hv.setRegister(1, 'rip', 0x1000n);
    const b = await saveVm(vm, store, { parent: a.id });
    vm.servicing.resume();
    const [sa, sb] = [await store.getSnapshot(a.id), await store.getSnapshot(b.id)];
    const ref = sb.manifest.parts.find((p) => p.name === PART.hv)!;
    assert.is(ref.meta['generation'], 2);
    const file = vps * X86_REGISTERS.length * 8;
    // msgpack bin 32 of the file plus the map around it: a few dozen bytes, not a bigint per register.
    assert.ok(ref.size > file && ref.size < file + 64, `${ref.size} vs ${file}`);
    const raw = decodeCanonical(sb.parts.get(PART.hv)!, 'test') as HvState;
    assert.ok(raw.registers instanceof Uint8Array && raw.registers.length === file);

    const [da, db] = [decodeSnapshot(sa), decodeSnapshot(sb)];
    assert.is((db.hv as HvNamedState).vps[1]?.registers['rip'], 0x1000n);
    const hvChanges = diffSnapshots(da, db).units['hv'] ?? [];
    assert.equal(hvChanges.map((c) => [c.kind, c.path]), [['changed', 'hv.vps[1].registers.rip']]);
    assert.equal(decodeParts(sb).hv, raw, 'restore reads the file as it is');

    const r = await restoreSnapshot(store, b.id);
    assert.ok(r.proof.ok, JSON.stringify(r.proof.differences.slice(0, 2), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
    assert.is(r.vm.hv.getRegister(1, 'rip'), 0x1000n);
  } finally {
    await store.close();
  }
});

test('save --generation 1 writes the registers by name (generation 1), and restore upgrades them with proof', async () => {
  const store = await openStore(await tempDir('hclckpt-hv-'));
  try {
    const vm = bootWithWorkload(presetConfig('small'), { seed: 4, steps: 20 });
    vm.hv.setRegister(0, 'cr3', 0x5000n);
    const s = await saveVm(vm, store, { generation: 1 });
    vm.servicing.resume();
    const snap = await store.getSnapshot(s.id);
    assert.is(snap.manifest.parts.find((p) => p.name === PART.hv)?.meta['generation'], 1);
    const stored = decodeCanonical(snap.parts.get(PART.hv)!, 'test') as HvNamedState;
    assert.equal(stored, hvByName(vm.hv.save()));
    assert.equal(decodeParts(snap).hv, vm.hv.save(), 'upgraded on read');
    const r = await restoreSnapshot(store, s.id);
    assert.ok(r.proof.ok);
    assert.is(r.vm.hv.getRegister(0, 'cr3'), 0x5000n);
  } finally {
    await store.close();
  }
});

test.run();
