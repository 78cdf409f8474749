import { Type } from '@sinclair/typebox';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkSchemaCompat } from '../../lib/diff/schema-check.ts';
import { diffSnapshots } from '../../lib/diff/snapshot.ts';
import { HclError } from '../../lib/errors.ts';
import type { InitState } from '../../lib/state/init-state.ts';
import { UnitRegistry } from '../../lib/state/registry.ts';
import { toCurrentUnitSet, toUnitSetOf, type UnitSetStep } from '../../lib/state/unit-set.ts';
import type { UnitDescriptor } from '../../lib/state/unit.ts';
import { throwsHcl } from '../hcl/units/fixture.ts';

// Two units of generation 1 (`left`, `right`) that generation 2 merges into one (`both`), and a
// `clock` unit that generation 3 moves into the init state's `hibernate` token.
const one = (name: string, key: string): UnitDescriptor => ({
  name, package: `toy.${name}`, saveRank: 1, generations: [{ generation: 1, schema: Type.Object({ [key]: Type.Integer() }) }],
});
const LEFT = one('left', 'l');
const RIGHT = one('right', 'r');
const CLOCK: UnitDescriptor = { name: 'clock', package: 'toy.clock', saveRank: 1, generations: [{ generation: 1, schema: Type.Object({ t: Type.BigInt() }) }] };
const BOTH: UnitDescriptor = {
  name: 'both', package: 'toy.both', saveRank: 1, generations: [{ generation: 2, schema: Type.Object({ l: Type.Integer(), r: Type.Integer() }) }],
};
const OTHER = one('other', 'o');

const MERGE: UnitSetStep = {
  generation: 2, retires: ['left', 'right'], produces: ['both'], why: 'left and right became one unit',
  up: (old, init) => {
    const l = (old.get('left') as { l: number } | undefined)?.l ?? 0; // an absent unit takes its default
    const r = (old.get('right') as { r: number } | undefined)?.r ?? 0;
    return { units: new Map([['both', { l, r }]]), init };
  },
  down: (cur, init) => {
    const b = cur.get('both') as { l: number; r: number };
    return { units: new Map<string, unknown>([['left', { l: b.l }], ['right', { r: b.r }]]), init };
  },
};
const MOVE: UnitSetStep = {
  generation: 3, retires: ['clock'], produces: [], why: 'the clock moved into the init state',
  up: (old, init) => ({ units: new Map(), init: { ...init, hibernate: { token: (old.get('clock') as { t: bigint }).t } } }),
  down: (_cur, init) => {
    const { hibernate, ...rest } = init;
    if (hibernate === undefined) throw new HclError('STATE_GENERATION', 'clock: generation 2 needs a token');
    return { units: new Map([['clock', { t: hibernate.token }]]), init: rest };
  },
};
const STEPS = [MERGE, MOVE];
const INIT: InitState = { firmwareType: 'none', vmStopReferenceTime: 0n, emuplat: { rtcLocalClock: { offsetFromHostTimeMillis: 0n }, netvspState: [] }, overlayShutdownDevice: false };
const registry = () => new UnitRegistry([BOTH, OTHER], undefined, { retired: [LEFT, RIGHT, CLOCK], steps: STEPS });

test('steps merge retired units, move one into the init state and pass the others through', () => {
  const old = { units: [{ name: 'left', state: { l: 1 } }, { name: 'other', state: { o: 9 } }, { name: 'right', state: { r: 2 } }, { name: 'clock', state: { t: 5n } }], init: INIT };
  const cur = toCurrentUnitSet(old, STEPS);
  assert.equal(cur.units, [{ name: 'other', state: { o: 9 } }, { name: 'both', state: { l: 1, r: 2 } }]);
  assert.equal(cur.init.hibernate, { token: 5n });
});

test('a snapshot that lacks one retired unit still merges (the step gives it its default)', () => {
  assert.equal(toCurrentUnitSet({ units: [{ name: 'right', state: { r: 4 } }], init: INIT }, STEPS).units, [{ name: 'both', state: { l: 0, r: 4 } }]);
});

test('a snapshot of today passes through unchanged', () => {
  const now = { units: [{ name: 'both', state: { l: 1, r: 2 } }], init: INIT };
  assert.equal(toCurrentUnitSet(now, STEPS), now);
});

test('a unit present both as itself and as its retired parts is STATE_DUPLICATE_UNIT', () => {
  throwsHcl(() => toCurrentUnitSet({ units: [{ name: 'both', state: { l: 1, r: 2 } }, { name: 'left', state: { l: 3 } }], init: INIT }, STEPS), 'STATE_DUPLICATE_UNIT', 'both: present both as itself and as left');
});

test('writing an older generation runs the newer steps backwards, newest first, and round-trips', () => {
  const now = { units: [{ name: 'both', state: { l: 1, r: 2 } }], init: { ...INIT, hibernate: { token: 7n } } };
  const gen1 = toUnitSetOf(now, 1, STEPS);
  assert.equal(gen1.units.map((u) => u.name).sort(), ['clock', 'left', 'right']);
  assert.is(gen1.init.hibernate, undefined);
  assert.equal(toCurrentUnitSet(gen1, STEPS), { units: [{ name: 'both', state: { l: 1, r: 2 } }], init: now.init });
  // Generation 2 still had the merged unit, only the clock comes back as a unit.
  assert.equal(toUnitSetOf(now, 2, STEPS).units.map((u) => u.name).sort(), ['both', 'clock']);
  assert.equal(toUnitSetOf(now, 3, STEPS), now);
  throwsHcl(() => toUnitSetOf({ units: now.units, init: INIT }, 2, STEPS), 'STATE_GENERATION', 'needs a token');
  // A step none of whose units is present has nothing to write back; a move into the init state always runs.
  assert.equal(toUnitSetOf({ units: [], init: now.init }, 1, STEPS).units, [{ name: 'clock', state: { t: 7n } }]);
});

test('the registry reads retired units but lists and dumps only live ones, with the retired ones beside', () => {
  const r = registry();
  assert.equal(r.names(), ['both', 'other']);
  assert.ok(r.has('left') && r.isRetired('left') && !r.isRetired('both'));
  const dump = r.schemaDump();
  assert.equal(dump.units.map((u) => u.name), ['both', 'other']);
  assert.equal(dump.retired?.map((x) => [x.name, x.retiredIn, x.into]), [['clock', 3, []], ['left', 2, ['both']], ['right', 2, ['both']]]);
});

test('the registry refuses an inconsistent history', () => {
  assert.throws(() => new UnitRegistry([BOTH], undefined, { retired: [LEFT, RIGHT, CLOCK], steps: [MERGE] }), /retired unit clock: no unit-set step retires it/);
  assert.throws(() => new UnitRegistry([OTHER], undefined, { retired: [LEFT, RIGHT], steps: [MERGE] }), /produces both, which is no live unit/);
  assert.throws(() => new UnitRegistry([BOTH], undefined, { retired: [LEFT], steps: [MERGE] }), /retires right, which has no retired descriptor/);
  assert.throws(() => new UnitRegistry([BOTH], undefined, { retired: [LEFT, RIGHT, CLOCK], steps: [MOVE, MERGE] }), /out of order/);
});

test('schema check: a unit retired by a step is compatible, one that vanished is still a break', () => {
  const oldDump = new UnitRegistry([LEFT, RIGHT, CLOCK, OTHER]).schemaDump();
  const report = checkSchemaCompat(oldDump, registry().schemaDump());
  assert.ok(report.compatible, JSON.stringify(report.breaking));
  assert.equal(report.compatibleChanges.filter((f) => f.kind === 'unit-retired').map((f) => f.unit), ['clock', 'left', 'right']);
  const gone = checkSchemaCompat(oldDump, new UnitRegistry([BOTH, OTHER]).schemaDump());
  assert.equal(gone.breaking.map((f) => [f.unit, f.kind]), [['clock', 'unit-removed'], ['left', 'unit-removed'], ['right', 'unit-removed']]);
});

test('diff brings the older side to today\'s units and compares them under one name', () => {
  const r = registry();
  const a = { manifest: {}, init: INIT, units: { left: { package: 'toy.left', generation: 1, state: { l: 1 } }, right: { package: 'toy.right', generation: 1, state: { r: 2 } }, clock: { package: 'toy.clock', generation: 1, state: { t: 5n } } } };
  const b = { manifest: {}, init: { ...INIT, hibernate: { token: 6n } }, units: { both: { package: 'toy.both', generation: 2, state: { l: 1, r: 3 } } } };
  const d = diffSnapshots(a, b, r);
  assert.equal([d.unitsAdded, d.unitsRemoved], [[], []]);
  assert.equal(d.units['both']?.map((c) => [c.path, c.from, c.to]), [['both.r', 2, 3]]);
  assert.equal(d.units['init']?.map((c) => [c.path, c.from, c.to]), [['init.hibernate.token', 5n, 6n]]);
  assert.equal(d.upgraded, [{ unit: 'both', side: 'a', from: 1, to: 2 }]);
});

test.run();
