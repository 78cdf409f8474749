import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { checkSchemaCompat, diffSnapshots, parseSchemaDump, schemaDumpWithReach } from '../../lib/diff/index.ts';
import { isHclError } from '../../lib/errors.ts';
import { CC_ENABLED, CSTS_RDY, FIFO_SIZE, NVME_UNIT, SERIAL_UNIT_V3, VMBUS_UNIT_V3, rxBytes, type NvmeUnitState, type SerialState } from '../../lib/hcl/units/index.ts';
import { downgrade, generationReach } from '../../lib/state/downgrade.ts';
import { defaultRegistry } from '../../lib/snapshot/registry.ts';
import { jsonSchema } from '../../lib/state/registry.ts';
import type { InitState } from '../../lib/state/init-state.ts';
import { bootedUnits, decodedOf, freshUnits, legacySerial, legacyVmbus } from './helpers.ts';

const registry = defaultRegistry();
const kept = (g: number) => parseSchemaDump(readFileSync(`snapshots/schema-gen${g}.json`, 'utf8'), `schema-gen${g}.json`);
const json = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;

function throwsGeneration(fn: () => unknown, msg: string): void {
  try {
    fn();
    assert.unreachable('accepted');
  } catch (e) {
    assert.ok(isHclError(e, 'STATE_GENERATION'), String(e));
    assert.ok((e as Error).message.includes(msg), (e as Error).message);
  }
}

test('kept dumps: generation 1 → 2 is compatible, and the newest kept dump is the current schema set', () => {
  const r = checkSchemaCompat(kept(1), kept(2));
  assert.equal(r.breaking, []);
  assert.equal([...new Set(r.compatibleChanges.map((f) => f.unit))], ['hv', 'nvme', 'serial.16550']);
  assert.equal(json(kept(4)), json(schemaDumpWithReach()));
});

test('kept dumps: generation 2 → 3 only moves every unit to field numbers, read back through the name-keyed form', () => {
  const r = checkSchemaCompat(kept(2), kept(3));
  assert.equal(r.breaking, []);
  assert.equal(r.compatibleChanges.map((f) => `${f.unit} ${f.path} ${f.kind}`), kept(3).units.map((u) => `${u.name} (unit) wire-numbered`));
  // Every older generation stays readable: 1 → 3 too.
  assert.equal(checkSchemaCompat(kept(1), kept(3)).breaking, []);
});

test('kept dumps: generation 3 → 4 changes the unit set (OpenHCL\'s partition, serial.uart16550, vmbus and NVMe state) and nothing breaks', () => {
  for (const g of [1, 2, 3]) assert.equal(checkSchemaCompat(kept(g), kept(4)).breaking, [], `generation ${g} → 4`);
  const r = checkSchemaCompat(kept(3), kept(4));
  assert.equal(r.compatibleChanges.filter((f) => f.kind === 'unit-retired').map((f) => f.unit), ['nvme', 'serial.16550', 'synic', 'vmbus.server.channels', 'vp']);
  assert.match(r.compatibleChanges.find((f) => f.unit === 'partition')!.message, 'built from synic + vp of older snapshots; a downgrade splits it back');
  assert.equal(kept(4).units.filter((u) => u.package === 'serial.uart16550').map((u) => u.name), ['serial-com1', 'serial-com2', 'serial-com3', 'serial-com4']);
  assert.equal(kept(4).retired?.map((u) => [u.name, u.generation, u.retiredIn, u.into]), [
    ['nvme', 3, 4, []], ['serial.16550', 3, 4, ['serial-com1', 'serial-com2', 'serial-com3', 'serial-com4']], ['synic', 3, 4, ['partition']],
    ['vmbus.server.channels', 3, 4, ['vmbus']], ['vp', 3, 4, ['partition']],
  ]);
});

test('generation-1 schemas are unchanged: each unit\'s generation 1 dumps exactly as the kept gen-1 dump', () => {
  for (const u of kept(1).units) {
    const d = registry.get(u.name);
    assert.equal(json(jsonSchema(d.generations[0]?.schema)), u.schema, u.name);
  }
});

test('without its upgrader and downgrader the serial representation change would break both ways', () => {
  const bare = structuredClone(kept(2));
  for (const u of bare.units) delete (u as { reads?: number[] }).reads, delete (u as { writes?: number[] }).writes;
  const r = checkSchemaCompat(kept(1), bare);
  assert.equal(r.breaking.map((f) => `${f.unit} ${f.path} ${f.kind} ${f.breaks.join('+')}`), [
    'serial.16550 ports[].rx field-added-required backward',
    'serial.16550 ports[].rxFifo field-removed forward',
  ]);
});

test('generation reach: nvme and serial read and write 1, 2, 3; units unchanged in generation 2 read and write 1 and 3', () => {
  assert.equal(generationReach(NVME_UNIT), { reads: [1, 2, 3], writes: [1, 2, 3] });
  assert.equal(generationReach(SERIAL_UNIT_V3), { reads: [1, 2, 3], writes: [1, 2, 3] });
  assert.equal(generationReach(registry.get('vp')), { reads: [1, 3], writes: [1, 3] });
});

// serial.16550: generation 1 → 2 upgrader, table of FIFO fill levels.
for (const n of [0, 1, 5, FIFO_SIZE]) {
  test(`serial upgrader: a generation-1 FIFO of ${n} bytes becomes a ring with the same bytes in order`, () => {
    const u = freshUnits();
    const v1 = downgrade('serial.16550', legacySerial(u), 1, registry) as { ports: Array<Record<string, unknown>> };
    const bytes = Uint8Array.from({ length: n }, (_, i) => 0x30 + i);
    const p0 = v1.ports[0];
    assert.ok(p0 !== undefined);
    p0['rxFifo'] = bytes;
    const v2 = registry.upgrade('serial.16550', v1, 1) as SerialState;
    const rx = v2.ports[0]?.rx;
    assert.ok(rx !== undefined);
    assert.equal([rx.head, rx.count, rxBytes(rx)], [0, n, bytes]);
    assert.equal(downgrade('serial.16550', v2, 1, registry), v1);
  });
}

test('serial upgrader refuses a generation-1 state that does not fit its schema (STATE_SCHEMA with path)', () => {
  const v1 = downgrade('serial.16550', legacySerial(freshUnits()), 1, registry) as { ports: Array<Record<string, unknown>> };
  (v1.ports[0] as Record<string, unknown>)['rxFifo'] = new Uint8Array(FIFO_SIZE + 1);
  try {
    registry.upgrade('serial.16550', v1, 1);
    assert.unreachable('accepted');
  } catch (e) {
    assert.ok(isHclError(e, 'STATE_SCHEMA'), String(e));
    assert.ok((e as Error).message.startsWith('serial.16550: ports[0].rxFifo:'), (e as Error).message);
  }
});

test('serial: any receive/read sequence survives gen 4 → 1 → 4, and the restored UART reads the same bytes', () => {
  fc.assert(fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constant(-1)), { maxLength: 60 }), (ops) => {
    const u = freshUnits();
    const uart = u.serial[0]!;
    uart.writeReg(2, 0x01); // FIFO on
    for (const op of ops) {
      if (op < 0) uart.readReg(0);
      else uart.receive(op);
    }
    const saved = legacySerial(u);
    const round = registry.upgrade('serial.16550', downgrade('serial.16550', saved, 1, registry), 1) as SerialState;
    assert.equal(rxBytes(round.ports[0]!.rx), rxBytes(saved.ports[0]!.rx));
    assert.equal([...rxBytes(saved.ports[0]!.rx)], [...uart.save().rxBuffer]);
    const [a, b] = [freshUnits(), freshUnits()];
    a.serial[0]!.restore(uart.save());
    const up = registry.toCurrentSet({ units: [{ name: 'serial.16550', state: round }], init: {} as InitState }).units;
    b.serial[0]!.restore(up.find((x) => x.name === 'serial-com1')!.state as never);
    for (let i = 0; i <= FIFO_SIZE; i++) assert.is(b.serial[0]!.readReg(0), a.serial[0]!.readReg(0));
  }), { numRuns: 200 });
});

// A value of the retired `nvme` unit as the generation-3 release saved it (its last generation):
// controller 0 enabled with its admin block at 0x1000 and one I/O queue on VP 1, controller 1 off.
const queue = (qid: number, size: number, targetVp: number): NvmeUnitState['controllers'][number]['ioQueues'][number] => ({
  qid, size, sqHead: 0, sqTail: 0, cqHead: 0, cqTail: 0, phase: true, vector: qid, targetVp, inFlight: [],
});
const unitValue = (): NvmeUnitState => ({
  controllers: [
    { id: 'nvme0', cc: CC_ENABLED, csts: CSTS_RDY, aqa: (255 << 16) | 255, asq: 0x1000n, acq: 0x5000n, intms: 0, admin: queue(0, 256, 0), ioQueues: [queue(1, 8, 1)] },
    { id: 'nvme1', cc: 0, csts: 0, aqa: 0, asq: 0n, acq: 0n, intms: 0, admin: null, ioQueues: [] },
  ],
});

test('nvme: generation 1 state upgrades unchanged; gen 2 without coalescing downgrades to exactly that state', () => {
  const s = unitValue();
  const v1 = downgrade('nvme', s, 1, registry);
  assert.equal(registry.upgrade('nvme', v1, 1), s);
  assert.equal(v1, s); // no queue had the field, so nothing was dropped
});

test('nvme: coalescing set to its default downgrades (the field is dropped); any other setting refuses with the queue named', () => {
  const s = unitValue();
  s.controllers[0]!.ioQueues[0]!.interruptCoalescing = { time: 0, threshold: 0 };
  const v1 = downgrade('nvme', s, 1, registry) as NvmeUnitState;
  assert.not.ok('interruptCoalescing' in (v1.controllers[0]?.ioQueues[0] ?? {}));
  s.controllers[0]!.ioQueues[0]!.interruptCoalescing = { time: 2, threshold: 7 };
  throwsGeneration(() => downgrade('nvme', s, 1, registry), 'nvme: cannot write generation 1: controllers[0] queue 1 has interrupt coalescing (time 2, threshold 7)');
  // Writing the unit's own last generation is always possible and changes nothing.
  assert.equal(downgrade('nvme', s, 3, registry), s);
});

const BAD_TARGETS: Array<[string, number, string]> = [
  ['nvme', 0, 'unit nvme: cannot write generation 0 (have 1, 2, 3)'],
  ['nvme', 4, 'unit nvme: cannot write generation 4 (have 1, 2, 3)'],
  ['vp', 2, 'unit vp: cannot write generation 2 (have 1, 3)'],
];
for (const [unit, g, msg] of BAD_TARGETS) {
  test(`downgrade refuses ${unit} → generation ${g}`, () => throwsGeneration(() => downgrade(unit, {}, g, registry), msg));
}

test('diff across real generations: a generation-1 snapshot is upgraded, its units turned into today\'s; only what generation 3 did not record differs', () => {
  const u = bootedUnits();
  u.serial[0]!.receive(0x41);
  const now = decodedOf(u);
  const old = structuredClone(now);
  // Generation 1 kept every UART in one unit, the VMBus server with its ring positions inside (no vtl0 part).
  for (const s of u.serial) delete old.units[s.name];
  old.units['serial.16550'] = { package: SERIAL_UNIT_V3.package, generation: 1, state: downgrade('serial.16550', legacySerial(u), 1, registry) };
  delete old.units['vmbus'];
  delete old.vtl0;
  old.units['vmbus.server.channels'] = { package: VMBUS_UNIT_V3.package, generation: 1, state: downgrade('vmbus.server.channels', legacyVmbus(u), 1, registry) };
  // The same controllers as the generation-1 release's nvme unit, the init state without NVMe state.
  const v = unitValue();
  v.controllers[0]!.asq = u.nvme.view().controllers[0]!.asq;
  old.units['nvme'] = { package: 'openvmm.nvme', generation: 1, state: downgrade('nvme', v, 1, registry) };
  delete (old.init as { nvmeState?: unknown }).nvmeState;
  const d = diffSnapshots(old, now);
  assert.equal([d.unitsAdded, d.unitsRemoved], [[], []]);
  // The old side's serial.16550 becomes the per-port units of generation 4 (the step), holding the same state.
  assert.equal(d.upgraded.map((n) => `${n.unit} ${n.side} ${n.from}→${n.to}`), ['serial-com1 a 1→4', 'serial-com3 a 1→4', 'vmbus a 1→4']);
  const disk = (i: number) => `init.nvmeState.nvmeState.nvmeDisks[${i}].driverState`;
  // Identify data, namespaces, the VP count and the driver limits: the step's documented defaults.
  assert.equal([...new Set(Object.values(d.units).flat().map((c) => `${c.kind} ${c.path.replace(/\[0x.*$/, '')}`))], [
    'changed init.nvmeState.nvmeState.cpuCount',
    `changed ${disk(0)}.identifyCtrl`, `added ${disk(0)}.namespaces[0]`, `changed ${disk(0)}.workerData.maxIoQueues`,
    `changed ${disk(1)}.identifyCtrl`, `added ${disk(1)}.namespaces[0]`, `changed ${disk(1)}.workerData.maxIoQueues`, `changed ${disk(1)}.workerData.qsize`,
  ]);
});

test('diff across the vmbus step: generation 3\'s ring positions compare against the vtl0 part, a moved ring shows there', () => {
  const u = freshUnits();
  u.vmbus.createGpadl(0, 1, [{ gpa: 0x10_0000n, pages: 8 }]);
  u.vmbus.open(0, 1, 1);
  u.vmbus.write(0, 'in', 40);
  const old = decodedOf(u);
  delete old.units['vmbus'];
  delete old.vtl0;
  old.units['vmbus.server.channels'] = { package: VMBUS_UNIT_V3.package, generation: 3, state: legacyVmbus(u) };
  const same = diffSnapshots(old, decodedOf(u));
  assert.equal([same.unitsAdded, same.unitsRemoved, Object.keys(same.units)], [[], [], []]);
  u.vmbus.write(0, 'in', 8);
  const moved = diffSnapshots(old, decodedOf(u));
  // The in ring's control page is the GPADL's first page: its write index moved by 16 (8 bytes + trailer).
  assert.equal(moved.units['vtl0']?.map((c) => [c.path, c.from, c.to]), [['vtl0.rings[0].inp', 48, 64]]);
  assert.equal(Object.keys(moved.units), ['vtl0']);
});

test.run();
