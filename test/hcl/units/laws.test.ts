import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runWorkload } from '../../../harness/workload.ts';
import { NVME_STEP, createUnits, type HclUnits, type NvmeUnitState } from '../../../lib/hcl/units/index.ts';
import type { InitState } from '../../../lib/state/init-state.ts';
import { NvmeSavedStateSchema } from '../../../lib/state/nvme-state.ts';
import { checkSchema } from '../../../lib/state/unit.ts';
import { decodeFields, encodeFields } from '../../../lib/state/fields.ts';
import { HvPartition } from '../../../lib/hv/index.ts';
import { decodeCanonical, encodeCanonical } from '../../../lib/state/codec.ts';
import { defaultRegistry } from '../../../lib/snapshot/registry.ts';
import { testContext, throwsHcl } from './fixture.ts';

/** Laws every unit obeys, run over all units after a workload has moved their state. */

const INIT: InitState = { firmwareType: 'none', vmStopReferenceTime: 0n, emuplat: { rtcLocalClock: { offsetFromHostTimeMillis: 0n }, netvspState: [] }, overlayShutdownDevice: false };

const registry = defaultRegistry();
const busy = (seed: number): HclUnits => {
  const ctx = testContext();
  const u = createUnits(ctx);
  runWorkload(u, new HvPartition(ctx.topology), { seed, steps: 2000 });
  return u;
};

for (const name of createUnits(testContext()).all.map((u) => u.name)) {
  const unitOf = (u: HclUnits) => u.all.find((x) => x.name === name);

  test(`${name}: default and evolved states satisfy the schema`, () => {
    const u = busy(11);
    const unit = unitOf(u);
    registry.validateUnitState(name, unit?.defaultState());
    registry.validateUnitState(name, unit?.save());
    assert.not.equal(unit?.save(), unit?.defaultState(), 'the workload changed the state');
  });

  test(`${name}: save → restore → save is the identity, through canonical bytes`, () => {
    const src = unitOf(busy(12));
    const dst = unitOf(createUnits(testContext()));
    const bytes = encodeCanonical(src?.save());
    dst?.restore(decodeCanonical(bytes, name));
    assert.equal(encodeCanonical(dst?.save()), bytes);
  });

  test(`${name}: saved and restored values are copies, not the live state`, () => {
    const ctx = testContext();
    const src = createUnits(ctx);
    const hv = new HvPartition(ctx.topology);
    runWorkload(src, hv, { seed: 13, steps: 500 });
    const saved = unitOf(src)?.save() as Record<string, unknown>;
    const before = encodeCanonical(saved);
    const other = unitOf(busy(14));
    other?.restore(saved);
    runWorkload(src, hv, { seed: 99, steps: 2000 });
    assert.equal(encodeCanonical(saved), before, 'later operations do not reach a saved value');
    for (const v of Object.values(saved)) if (Array.isArray(v)) v.length = 0;
    assert.equal(encodeCanonical(other?.save()), before, 'mutating the saved value does not reach the restored unit');
  });

  test(`${name}: unknown fields are ignored on restore`, () => {
    const unit = unitOf(busy(15));
    const saved = unit?.save() as Record<string, unknown>;
    unit?.restore({ ...saved, addedByALaterVersion: 42 });
    assert.not.ok('addedByALaterVersion' in (unit?.save() as object));
  });

  test(`${name}: a field of the wrong type is rejected with its path`, () => {
    const saved = unitOf(busy(16))?.save() as Record<string, unknown[]>;
    const list = Object.keys(saved).find((k) => Array.isArray(saved[k]));
    if (list === undefined) {
      const scalar = Object.keys(saved).find((k) => typeof saved[k] === 'number' || typeof saved[k] === 'boolean') ?? '';
      throwsHcl(() => registry.validateUnitState(name, { ...saved, [scalar]: 'x' }), 'STATE_SCHEMA', `${name}: ${scalar}: expected`);
      return;
    }
    const first = saved[list]?.[0] as Record<string, unknown>;
    const field = Object.keys(first).find((k) => typeof first[k] === 'number' || typeof first[k] === 'bigint') ?? '';
    const bad = { ...saved, [list]: [first, { ...first, [field]: 'x' }] };
    throwsHcl(() => registry.validateUnitState(name, bad), 'STATE_SCHEMA', `${name}: ${list}[1].${field}: expected`);
  });
}

test('rtc.cmos: a field of the wrong type is rejected with its path', () => {
  const saved = createUnits(testContext()).rtc.save();
  throwsHcl(() => registry.validateUnitState('rtc.cmos', { ...saved, clockNs: 5 }), 'STATE_SCHEMA', 'rtc.cmos: clockNs: expected bigint');
  throwsHcl(() => registry.validateUnitState('rtc.cmos', { ...saved, cmos: [1, 2] }), 'STATE_SCHEMA', 'rtc.cmos: cmos: expected Uint8Array');
});

// The NVMe manager is no unit, but its saved state obeys the same laws.
for (const seed of [11, 12]) {
  test(`nvme manager seed ${seed}: its saved state fits NvmeSavedState, survives its bytes, and restore(save) is identity`, () => {
    const u = busy(seed);
    const saved = { nvmeState: u.nvme.save(true)! };
    checkSchema('nvme_state', NvmeSavedStateSchema, saved);
    assert.ok(saved.nvmeState.nvmeDisks.some((d) => d.driverState.workerData.io.length > 0), 'the workload made I/O queues');
    assert.equal(decodeFields(NvmeSavedStateSchema, encodeFields(NvmeSavedStateSchema, saved), 'nvme'), saved);
    const v = createUnits(testContext());
    v.nvme.restore(saved.nvmeState);
    assert.equal(v.nvme.view(), u.nvme.view());
    assert.equal({ nvmeState: v.nvme.save(true)! }, saved);
  });
}

test('nvme: the brief\'s example path, ioQueues[n].tail (the retired unit still validates what generation 3 wrote)', () => {
  const u = createUnits(testContext());
  u.nvme.enable(0, 0x1000n);
  for (let i = 0; i < 4; i++) u.nvme.createIoQueue(0, i);
  const s = NVME_STEP.down(new Map(), { ...INIT, nvmeState: { nvmeState: u.nvme.save(true)! } }).units.get('nvme') as NvmeUnitState;
  registry.validateUnitState('nvme', s);
  const q = s.controllers[0]?.ioQueues[3];
  if (q !== undefined) (q as { sqTail: unknown }).sqTail = 1.5;
  throwsHcl(() => registry.validateUnitState('nvme', s), 'STATE_SCHEMA', 'nvme: controllers[0].ioQueues[3].sqTail: expected integer');
});

test.run();
