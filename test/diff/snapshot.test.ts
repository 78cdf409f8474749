import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Type } from '@sinclair/typebox';
import { diffSnapshots, isEmptyDiff, type DecodedSnapshot } from '../../lib/diff/index.ts';
import { isHclError } from '../../lib/errors.ts';
import { UnitRegistry } from '../../lib/state/registry.ts';
import { uint, type UnitDescriptor } from '../../lib/state/unit.ts';
import { defaultRegistry } from '../../lib/snapshot/registry.ts';
import type { InitState } from '../../lib/state/index.ts';
import { cidOf } from '../../lib/hcl/units/index.ts';
import { IO0, bootedUnits, decodedOf } from './helpers.ts';

const paths = (d: ReturnType<typeof diffSnapshots>) => Object.values(d.units).flat().map((c) => `${c.kind} ${c.path}`);

test('a snapshot diffed with itself is empty', () => {
  const a = decodedOf(bootedUnits());
  const d = diffSnapshots(a, structuredClone(a));
  assert.ok(isEmptyDiff(d));
  assert.equal(d.upgraded, []);
});

test('one nvme submit: in the init state\'s NVMe manager state exactly the pending command and the SQ tail change', () => {
  const u = bootedUnits();
  const a = decodedOf(u);
  const before = u.nvme.view().controllers[0]?.ioQueues[0]?.sqTail ?? -1;
  assert.ok(u.nvme.submit(0, 1, 7));
  const d = diffSnapshots(a, decodedOf(u));
  // Keys compare in sorted order: pendingCmds before sqState, committedTail before tail.
  assert.equal(paths(d), [`added ${IO0}.pendingCmds.commands[0]`, `changed ${IO0}.sqState.committedTail`, `changed ${IO0}.sqState.tail`]);
  const tail = d.units['init']?.[2];
  assert.equal([tail?.from, tail?.to], [before, u.nvme.view().controllers[0]?.ioQueues[0]?.sqTail]);
  assert.is(cidOf((d.units['init']?.[0]?.to as { command: Uint8Array }).command), 7);
  assert.equal(d.manifest, []);
});

test('one serial receive: only that UART\'s rx buffer changes (IIR and LSR are derived, not saved)', () => {
  const u = bootedUnits();
  const a = decodedOf(u);
  u.serial[0]!.receive(0x41);
  const d = diffSnapshots(a, decodedOf(u));
  assert.equal(Object.keys(d.units), ['serial-com1']);
  assert.equal(d.units['serial-com1']?.map((c) => c.path.split(/[[.]/).slice(0, 2).join('.')), ['serial-com1.rxBuffer']);
});

test('manifest differences: config, overrides, digest and tool; id and time are not differences', () => {
  const u = bootedUnits();
  const a = decodedOf(u, { config: { vps: 4 }, igvmDigest: 'aa', overrides: {} });
  const b = decodedOf(u, { config: { vps: 4 }, igvmDigest: 'bb', overrides: { 'cmdline.host': 'x' } }, 'vm', 2);
  b.manifest.tool = '0.2.0';
  b.manifest.time = '2030-01-01T00:00:00Z';
  const d = diffSnapshots(a, b);
  assert.equal(d.manifest.map((c) => `${c.kind} ${c.path}`), ['changed manifest.igvmDigest', 'added manifest.overrides["cmdline.host"]', 'changed manifest.tool']);
  assert.equal([d.a.name, d.b.name], ['vm@1', 'vm@2']);
  assert.equal(d.units, {});
});

test('partition: a change in one VP\'s bytes is named by field, also against a generation-3 vp + synic side', () => {
  const u = bootedUnits();
  const a = decodedOf(u);
  u.partition.run(2);
  u.partition.configureSint(2, 5, { vector: 0x31, masked: false, autoEoi: false });
  const b = decodedOf(u);
  const want = ['changed partition.vps[2].data.runState', 'changed partition.vps[2].data.synic.sints[5].masked', 'changed partition.vps[2].data.synic.sints[5].vector'];
  assert.equal(paths(diffSnapshots(a, b)), want);
  // Side a as the generation-3 release wrote it: vp and synic, brought through the unit-set step.
  const registry = defaultRegistry();
  const old = registry.toSetOf({ units: [{ name: 'partition', state: a.units['partition']!.state }], init: {} as InitState }, 3).units;
  const a3: DecodedSnapshot = { ...a, units: { ...a.units } };
  delete a3.units['partition'];
  for (const x of old) a3.units[x.name] = { package: registry.get(x.name).package, generation: 3, state: x.state };
  const d = diffSnapshots(a3, b);
  assert.equal(paths(d), want, 'the step made side a a partition unit of generation 4: no package or generation change');
  assert.equal(d.upgraded.map((n) => `${n.unit} ${n.side} ${n.from}→${n.to}`), ['partition a 3→4']);
});

test('units added and removed, package and generation changes are listed', () => {
  const a = decodedOf(bootedUnits());
  const b: DecodedSnapshot = structuredClone(a);
  delete b.units['rtc.cmos'];
  b.units['extra'] = { package: 'x.extra', generation: 1, state: {} };
  const partition = b.units['partition'];
  if (partition !== undefined) partition.package = 'partition2';
  const d = diffSnapshots(a, b);
  assert.equal([d.unitsAdded, d.unitsRemoved], [['extra'], ['rtc.cmos']]);
  assert.equal(paths(d), ['changed partition:package']);
});

test('hv and init state are compared beside the units', () => {
  const a = { ...decodedOf(bootedUnits()), hv: { arch: 'x86_64', vps: [{ index: 0, registers: { rip: 0xfff0n } }] }, init: { usermodeVersion: '1.0' } };
  const b = { ...structuredClone(a), hv: { arch: 'x86_64', vps: [{ index: 0, registers: { rip: 0x1000n } }] }, init: { usermodeVersion: '1.1' } };
  assert.equal(paths(diffSnapshots(a, b)), ['changed hv.vps[0].registers.rip', 'changed init.usermodeVersion']);
});

// A two-generation unit: generation 2 renames nothing, it splits `count` into `lo`/`hi` bytes.
const TWO_GEN: UnitDescriptor = {
  name: 'dev',
  package: 'test.dev',
  saveRank: 1,
  generations: [
    { generation: 1, schema: Type.Object({ count: uint(16) }) },
    { generation: 2, schema: Type.Object({ lo: uint(8), hi: uint(8) }), upgrade: (p) => ({ lo: (p as { count: number }).count & 0xff, hi: (p as { count: number }).count >> 8 }) },
  ],
};
const registry = new UnitRegistry([TWO_GEN]);
const snap = (generation: number, state: unknown): DecodedSnapshot => ({ manifest: { info: { generation } }, units: { dev: { package: 'test.dev', generation, state } } });

const CROSS: Array<{ title: string; a: DecodedSnapshot; b: DecodedSnapshot; side: 'a' | 'b'; want: string[] }> = [
  { title: 'older side a', a: snap(1, { count: 0x0102 }), b: snap(2, { lo: 0x02, hi: 0x05 }), side: 'a', want: ['changed dev:generation', 'changed dev.hi'] },
  { title: 'older side b', a: snap(2, { lo: 0x02, hi: 0x01 }), b: snap(1, { count: 0x0302 }), side: 'b', want: ['changed dev:generation', 'changed dev.hi'] },
];
for (const c of CROSS) {
  test(`across generations (${c.title}): the older side is upgraded first and the diff says so`, () => {
    const d = diffSnapshots(c.a, c.b, registry);
    assert.equal(d.upgraded, [{ unit: 'dev', side: c.side, from: 1, to: 2 }]);
    assert.equal(paths(d), c.want);
    assert.equal(d.manifest.map((x) => x.path), ['manifest.generation']);
  });
}

test('across generations: an old state that does not fit its schema is STATE_SCHEMA, naming the field', () => {
  try {
    diffSnapshots(snap(1, { count: 'x' }), snap(2, { lo: 0, hi: 0 }), registry);
    assert.unreachable('accepted');
  } catch (e) {
    assert.ok(isHclError(e, 'STATE_SCHEMA'), String(e));
    assert.ok((e as Error).message.startsWith('dev: count:'), (e as Error).message);
  }
});

test('a generation the registry does not know is STATE_GENERATION', () => {
  try {
    diffSnapshots(snap(1, { count: 1 }), snap(3, {}), new UnitRegistry([{ ...TWO_GEN, generations: TWO_GEN.generations.slice(0, 1) }]));
    assert.unreachable('accepted');
  } catch (e) {
    assert.ok(isHclError(e, 'STATE_GENERATION'), String(e));
    assert.ok((e as Error).message.includes('unit dev: side b is generation 3, newer than this release knows (1)'), (e as Error).message);
  }
});

test.run();
