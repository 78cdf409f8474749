import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runWorkload } from '../../harness/workload.ts';
import { COM_PORTS, UNIT_DESCRIPTORS, createUnits, type HclUnits, type UnitContext } from '../../lib/hcl/units/index.ts';
import { HvPartition } from '../../lib/hv/index.ts';
import { decodeCanonical, encodeCanonical } from '../../lib/state/codec.ts';
import { defaultRegistry } from '../../lib/snapshot/registry.ts';
import { ServicingController, type Clock, type InitInput, type ServicingState } from '../../lib/state/servicing.ts';
import type { StateUnit } from '../../lib/state/unit.ts';
import type { HclError } from '../../lib/errors.ts';
import { testContext, throwsHcl } from '../hcl/units/fixture.ts';

const ID = '6b1e1f3c-2a4d-4e5f-8a9b-0c1d2e3f4a5b';
const registry = defaultRegistry();
const init = (): InitInput => ({
  firmwareType: 'uefi',
  emuplat: { rtcLocalClock: { offsetFromHostTimeMillis: -5n }, netvspState: [] },
  overlayShutdownDevice: false,
});
/** A clock that moves only when told: tests never read wall time. */
const fakeClock = (start = 1_000_000n) => {
  let t = start;
  const clock: Clock & { advance(ns: bigint): void } = { now: () => t, advance: (ns) => void (t += ns) };
  return clock;
};
const busy = (seed = 5): HclUnits => {
  const ctx = testContext();
  const u = createUnits(ctx);
  runWorkload(u, new HvPartition(ctx.topology), { seed, steps: 1500 });
  return u;
};
const req = { correlationId: ID, timeoutNs: 5_000_000_000n };

/** Wraps a unit so every stop/save is logged and `onSave` can act (e.g. advance the clock). */
function spy(u: StateUnit, log: string[], onSave = () => {}): StateUnit {
  return {
    name: u.name, package: u.package, saveRank: u.saveRank, generation: u.generation, schema: u.schema,
    save: () => (log.push(`save ${u.name}`), onSave(), u.save()),
    restore: (s) => u.restore(s),
    defaultState: () => u.defaultState(),
    stop: () => (log.push(`stop ${u.name}`), u.stop?.()),
    start: () => u.start?.(),
  };
}

// OpenHCL's save order (underhill_core/src/dispatch/mod.rs `LoadedVm::save`): emuplat, DMA
// manager, NVMe manager (into the init state, not a unit), then `save_units` saves every state unit.
const ranks: Array<[string, number]> = [
  ['rtc.cmos', 1], ['serial-com1', 1], ['serial-com2', 1], ['serial-com3', 1], ['serial-com4', 1], ['partition', 1], ['vmbus', 1],
];
// Every COM port configured, so every registered unit is live.
const allPorts = (): UnitContext => ({ ...testContext(), devices: { ...testContext().devices, serial: COM_PORTS.map((port) => ({ port, baud: 115_200 })) } });
for (const [name, rank] of ranks) {
  test(`${name}: its descriptor's saveRank is ${rank}, and the live unit reports it`, () => {
    assert.is(UNIT_DESCRIPTORS.find((d) => d.name === name)?.saveRank, rank);
    assert.is(createUnits(allPorts()).all.find((u) => u.name === name)?.saveRank, rank);
  });
}
test('every registered unit has a rank in the table above', () => {
  assert.equal(UNIT_DESCRIPTORS.map((d) => d.name).sort(), ranks.map(([n]) => n).sort());
});

test('save stops every unit first, then builds the init state (the NVMe manager saves there), then saves the state units', () => {
  const log: string[] = [];
  const u = busy();
  const shuffled = [u.vmbus, u.partition, ...u.serial, u.rtc].map((x) => spy(x, log));
  const s = new ServicingController(shuffled, registry, fakeClock()).save(req, () => {
    log.push('save nvme manager');
    return { ...init(), nvmeState: { nvmeState: u.nvme.save(true)! } };
  });
  // Stable within a rank: the state units keep the order they were given.
  const order = ['vmbus', 'partition', 'serial-com1', 'serial-com3', 'rtc.cmos'];
  assert.equal(s.units.map((x) => x.name), order);
  assert.equal(log, [...order.map((n) => `stop ${n}`), 'save nvme manager', ...order.map((n) => `save ${n}`)]);
  assert.equal(s.initState.nvmeState?.nvmeState.nvmeDisks.map((d) => d.pciId), ['nvme0', 'nvme1']);
});

test('restore hands the validated init state to the NVMe manager before any unit restores, and not at all when refused', () => {
  const saved = new ServicingController(busy().all, registry, fakeClock()).save(req, init());
  const log: string[] = [];
  const dst = busy(41);
  const units = dst.all.map((x) => ({ ...spy(x, log), restore: (st: unknown) => (log.push(`restore ${x.name}`), x.restore(st)) }));
  new ServicingController(units, registry, fakeClock()).restore(saved, (i) => log.push(`init ${i.firmwareType}`));
  assert.equal(log[0], 'init uefi');
  assert.ok(log.slice(1).every((l) => l.startsWith('restore ')), log.join());
  let called = false;
  throwsHcl(() => new ServicingController(dst.all, registry, fakeClock()).restore({ ...saved, units: [...saved.units, { name: 'floppy', state: {} }] }, () => { called = true; }), 'STATE_UNKNOWN_UNIT', 'floppy');
  assert.not.ok(called);
});

test('init state carries the request, the stop reference time in 100 ns units and the caller fields', () => {
  const clock = fakeClock(123_456_789n);
  const s = new ServicingController(busy().all, registry, clock).save(req, init());
  assert.equal(s.initState, { ...init(), correlationId: ID, vmStopReferenceTime: 123_456_789n / 100n });
});

test('a paused VM cannot be saved twice; resume allows the next save', () => {
  const c = new ServicingController(busy().all, registry, fakeClock());
  c.save(req, init());
  assert.ok(c.paused);
  throwsHcl(() => c.save(req, init()), 'SERVICING_REFUSED', 'vm is already paused');
  c.resume();
  c.save(req, init());
});

test('isolated VMs and malformed correlation ids are refused before anything stops', () => {
  const u = busy();
  const before = u.partition.save();
  const c = new ServicingController(u.all, registry, fakeClock());
  throwsHcl(() => c.save({ ...req, isolated: true }, init()), 'SERVICING_REFUSED', 'isolated vms cannot be serviced');
  throwsHcl(() => c.save({ ...req, correlationId: 'abc' }, init()), 'USAGE', 'correlation id "abc" is not a uuid');
  assert.equal(u.partition.save(), before);
  assert.not.ok(c.paused);
});

test('a unit whose save passes the deadline is a watchdog panic: SERVICING_TIMEOUT, the VM stays stopped and refuses everything', () => {
  const u = busy();
  const runningVps = () => u.partition.save().vps.filter((v) => u.partition.vpState(v.vpIndex).vp.runState === 'running').length;
  const running = runningVps();
  assert.ok(running > 0, 'workload started some VPs');
  const clock = fakeClock();
  const log: string[] = [];
  const units = u.all.map((x) => (x.name === 'partition' ? spy(x, log, () => clock.advance(6_000_000_000n)) : x));
  const c = new ServicingController(units, registry, clock);
  let err: unknown;
  try {
    c.save(req, init());
  } catch (e) {
    err = e;
  }
  // dispatch/mod.rs handle_servicing_inner: the watchdog task panics ("servicing operation timed
  // out"); nothing runs `start` again, unlike handle_servicing_request's error path.
  throwsHcl(() => { throw err; }, 'SERVICING_TIMEOUT', `servicing ${ID}: save of unit partition passed the deadline by 1000000000 ns (timeout 5000000000 ns); OpenHCL's servicing watchdog panics here`);
  assert.equal((err as HclError).context, { layer: 'usermode', kind: 'watchdog-panic' });
  assert.match(c.crashed ?? '', /^its servicing watchdog panicked \(servicing .* passed the deadline/);
  assert.is(runningVps(), 0, 'no VP was started again');
  throwsHcl(() => c.resume(), 'VM_CRASHED', 'servicing resume: refused: the vm is dead: its servicing watchdog panicked');
  throwsHcl(() => c.save(req, init()), 'VM_CRASHED', 'servicing save: refused: the vm is dead');
  throwsHcl(() => c.restore({ initState: {}, units: [] }), 'VM_CRASHED', 'servicing restore: refused: the vm is dead');
});

test('a unit whose save fails is an ordinary failure: SERVICING_FAILED and the VM resumes', () => {
  const u = busy();
  const runningVps = () => u.partition.save().vps.filter((v) => u.partition.vpState(v.vpIndex).vp.runState === 'running').length;
  const running = runningVps();
  const units = u.all.map((x) => (x.name === 'partition' ? { ...spy(x, []), save: () => { throw new Error('partition broke'); } } : x));
  const c = new ServicingController(units, registry, fakeClock());
  throwsHcl(() => c.save(req, init()), 'SERVICING_FAILED', `servicing ${ID}: save failed: partition broke`);
  assert.is(c.crashed, undefined);
  assert.not.ok(c.paused);
  assert.is(runningVps(), running);
});

test('restore through canonical bytes rebuilds every unit; saving again reproduces the snapshot', () => {
  const src = busy(21);
  const saved = new ServicingController(src.all, registry, fakeClock()).save(req, init());
  const bytes = encodeCanonical(saved);
  const dst = createUnits(testContext());
  const c = new ServicingController(dst.all, registry, fakeClock());
  const report = c.restore(decodeCanonical(bytes, 'servicing'));
  assert.equal(report, { restored: saved.units.map((x) => x.name), defaulted: [] });
  assert.not.ok(c.paused);
  assert.ok(dst.partition.save().vps.some((v) => dst.partition.vpState(v.vpIndex).vp.runState === 'running'), 'the VM runs after restore');
  const again = c.save({ ...req, correlationId: '00000000-0000-4000-8000-000000000002' }, init());
  assert.equal(encodeCanonical(again.units), encodeCanonical(saved.units));
});

test('an absent unit gets its default state', () => {
  const saved = new ServicingController(busy().all, registry, fakeClock()).save(req, init());
  const dst = busy(77);
  const c = new ServicingController(dst.all, registry, fakeClock());
  const report = c.restore({ ...saved, units: saved.units.filter((x) => x.name !== 'serial-com1') });
  assert.equal(report.defaulted, ['serial-com1']);
  assert.equal(dst.serial[0]!.save(), dst.serial[0]!.defaultState());
});

const bad: Array<[string, (s: ServicingState) => unknown, Parameters<typeof throwsHcl>[1], string]> = [
  // vmm_core/state_unit/src/lib.rs `StateUnits::restore`: RestoreUnitError::Unknown / ::Duplicate, checked before any unit restores.
  ['unknown unit', (s) => ({ ...s, units: [...s.units, { name: 'floppy', state: {} }] }), 'STATE_UNKNOWN_UNIT', `units[${busy().all.length}]: floppy: unknown unit name`],
  ['duplicate unit', (s) => ({ ...s, units: [...s.units, s.units.find((x) => x.name === 'partition')] }), 'STATE_DUPLICATE_UNIT', `units[${busy().all.length}]: partition: duplicate unit name`],
  ['a bad entry after an unknown name', (s) => ({ ...s, units: [{ name: 'floppy', state: {} }, ...s.units.map((x) => (x.name === 'partition' ? { ...x, state: {} } : x))] }), 'STATE_UNKNOWN_UNIT', 'units[0]: floppy: unknown unit name'],
  ['bad unit field', (s) => ({ ...s, units: s.units.map((x) => (x.name === 'vmbus' ? { ...x, state: { ...(x.state as object), lostSynicBugFixed: 1 } } : x)) }), 'STATE_SCHEMA', 'vmbus: lostSynicBugFixed: expected boolean'],
  ['bad init state', (s) => ({ ...s, initState: { ...s.initState, correlationId: 'x' } }), 'STATE_SCHEMA', 'servicing state: initState.correlationId'],
  ['units not an array', (s) => ({ ...s, units: {} }), 'STATE_SCHEMA', 'servicing state: units: expected array'],
];
for (const [what, mutate, code, msg] of bad) {
  test(`restore refuses ${what} and leaves every unit unchanged`, () => {
    const saved = new ServicingController(busy().all, registry, fakeClock()).save(req, init());
    const dst = busy(31);
    const before = encodeCanonical(dst.all.map((x) => x.save()));
    throwsHcl(() => new ServicingController(dst.all, registry, fakeClock()).restore(mutate(saved)), code, msg);
    assert.equal(encodeCanonical(dst.all.map((x) => x.save())), before);
  });
}

test('restore names every unknown and duplicate unit, not just the first', () => {
  const saved = new ServicingController(busy().all, registry, fakeClock()).save(req, init());
  const units = [...saved.units, { name: 'floppy', state: {} }, saved.units[0]!, { name: 'tpm', state: {} }];
  try {
    new ServicingController(busy(3).all, registry, fakeClock()).restore({ ...saved, units });
    assert.unreachable('accepted');
  } catch (e) {
    const problems = (e as { context?: { problems?: Array<{ code: string }> } }).context?.problems ?? [];
    assert.equal(problems.map((p) => p.code), ['STATE_UNKNOWN_UNIT', 'STATE_DUPLICATE_UNIT', 'STATE_UNKNOWN_UNIT']);
  }
});

test.run();
