import { Type } from '@sinclair/typebox';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UNIT_DESCRIPTORS } from '../../lib/hcl/units/index.ts';
import { defaultRegistry } from '../../lib/snapshot/registry.ts';
import { UnitRegistry, jsonSchema } from '../../lib/state/registry.ts';
import { fieldPath, u64, type UnitDescriptor } from '../../lib/state/unit.ts';
import { throwsHcl } from '../hcl/units/fixture.ts';

const paths: Array<[string, string]> = [
  ['', '(root)'],
  ['/ioQueues/3/tail', 'ioQueues[3].tail'],
  ['/vps/0/registers/rip', 'vps[0].registers.rip'],
  ['/a~1b/c~0d', 'a/b.c~d'],
  ['/0', '[0]'],
];
for (const [ptr, want] of paths) test(`fieldPath ${JSON.stringify(ptr)} → ${want}`, () => assert.is(fieldPath(ptr), want));

// A unit with two generations: generation 2 splits `count` into `low`/`high` words.
const evolving: UnitDescriptor = {
  name: 'demo',
  package: 'openvmm.demo',
  saveRank: 1,
  generations: [
    { generation: 1, schema: Type.Object({ count: u64() }) },
    {
      generation: 2,
      schema: Type.Object({ low: Type.Integer(), high: Type.Integer() }),
      upgrade: (v) => {
        const c = (v as { count: bigint }).count;
        return { low: Number(c & 0xffff_ffffn), high: Number(c >> 32n) };
      },
    },
  ],
};

test('upgrade validates the old generation, runs each upgrader and validates the result', () => {
  const r = new UnitRegistry([evolving]);
  assert.equal(r.upgrade('demo', { count: 0x5_0000_0007n }, 1), { low: 7, high: 5 });
  throwsHcl(() => r.upgrade('demo', { count: 7 }, 1), 'STATE_SCHEMA', 'demo: count: expected bigint');
  throwsHcl(() => r.upgrade('demo', { count: 7n }, 3), 'STATE_GENERATION', 'unit demo: generation 3 unknown (have 1, 2)');
  r.validateUnitState('demo', { low: 1, high: 2 });
  r.validateUnitState('demo', { count: 1n }, 1);
});

test('schema dump lists the current generation of every unit, sorted, with the hypervisor', () => {
  const d = defaultRegistry().schemaDump();
  assert.is(d.format, 'hclckpt-schema/1');
  assert.equal(d.units.map((u) => u.name), UNIT_DESCRIPTORS.map((u) => u.name).sort());
  // Real packages and messages where generation 4 gave units OpenHCL's shapes: vmm_core/src/partition_unit.rs
  // `#[mesh(package = "partition")] struct Partition`, serial_16550 lib.rs `serial.uart16550`, vmbus_server lib.rs
  // `vmbus.server`; rtc.cmos keeps generation 3's.
  const real: Record<string, [string, string]> = {
    partition: ['partition', 'Partition'], vmbus: ['vmbus.server', 'SavedState'],
    ...Object.fromEntries(['com1', 'com2', 'com3', 'com4'].map((p) => [`serial-${p}`, ['serial.uart16550', 'SavedState']])),
  };
  assert.equal(d.units.map((u) => [u.name, u.package, u.message, u.generation]), d.units.map((u) => [u.name, ...(real[u.name] ?? [`openvmm.${u.name}`, 'SavedState']), u.name in real ? 4 : 3]));
  assert.equal(d.retired?.map((r) => `${r.name} ${r.retiredIn} ${r.into.join(',')}`), [
    'nvme 4 ', 'serial.16550 4 serial-com1,serial-com2,serial-com3,serial-com4', 'synic 4 partition', 'vmbus.server.channels 4 vmbus', 'vp 4 partition',
  ]);
  assert.is(d.hypervisor?.name, 'hv');
  assert.equal(JSON.parse(JSON.stringify(d)), d, 'the dump is plain JSON');
  assert.is(JSON.stringify(defaultRegistry().schemaDump()), JSON.stringify(d), 'stable');
  const two = new UnitRegistry([evolving]).schemaDump().units[0];
  assert.is(two?.generation, 2);
});

test('jsonSchema marks bigint and bytes, writes bigint bounds as strings and sorts keys', () => {
  const s = jsonSchema(Type.Object({ z: u64(), a: Type.Uint8Array({ maxByteLength: 16 }) })) as {
    properties: Record<string, Record<string, unknown>>;
  };
  assert.equal(Object.keys(s.properties), ['a', 'z']);
  assert.equal(s.properties['z'], { maximum: '18446744073709551615', minimum: '0', type: 'integer', 'x-encoding': 'u64' });
  assert.equal(s.properties['a'], { contentEncoding: 'base64', maxByteLength: 16, type: 'string', 'x-encoding': 'bin' });
});

test('unknown unit and duplicate registration', () => {
  throwsHcl(() => defaultRegistry().validateUnitState('floppy', {}), 'STATE_UNKNOWN_UNIT', 'unit floppy: no such state unit');
  assert.throws(() => new UnitRegistry([evolving, evolving]), /registered twice/);
});

test('validation reports the first failing field and lists all in its context', () => {
  try {
    defaultRegistry().validateUnitState('rtc.cmos', { cmos: new Uint8Array(128), index: 300, nmiDisabled: 1, clockNs: 0n });
    assert.unreachable();
  } catch (e) {
    const context = (e as { context?: { errors?: Array<{ path: string }> } }).context;
    assert.match((e as Error).message, /^rtc\.cmos: index: expected integer/);
    assert.equal(context?.errors?.map((x) => x.path), ['index', 'nmiDisabled']);
  }
});

test.run();
