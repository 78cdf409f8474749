import { HclError } from '../errors.ts';
import { currentUnitSet, defaultRegistry, type DecodedSnapshot, type DecodedUnit } from '../snapshot/index.ts';
import { type InitState, type UnitRegistry, currentGeneration } from '../state/index.ts';
import type { Change, SnapshotDiff, UpgradeNote } from './types.ts';
import { diffValues, sameValues } from './values.ts';

/**
 * Snapshot diff: manifest differences, units added and removed, and per-unit field changes. When
 * the two sides hold a unit in different generations, each older side is upgraded to the current
 * generation through the registry's upgraders first, and the result records it.
 */

// Fields that differ between any two snapshots and say nothing about the VM.
const VOLATILE = new Set(['id', 'seq', 'time', 'parent', 'parts', 'format']);

/** The manifest as compared: the tool version plus every `info` field, at top level. */
function manifestView(s: DecodedSnapshot): Record<string, unknown> {
  const m = s.manifest as Record<string, unknown>;
  const view: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m)) if (!VOLATILE.has(k) && k !== 'info' && k !== 'name') view[k] = v;
  return { ...view, ...(s.manifest.info ?? {}) };
}

/** Brings `u` to the registry's current generation when it is older than `other`; notes what it did. */
function aligned(registry: UnitRegistry, name: string, u: DecodedUnit, other: DecodedUnit, side: 'a' | 'b', notes: UpgradeNote[]): DecodedUnit {
  if (u.generation === other.generation) return u;
  const current = currentGeneration(registry.get(name)).generation;
  if (u.generation > current) {
    throw new HclError('STATE_GENERATION', `unit ${name}: side ${side} is generation ${u.generation}, newer than this release knows (${current}); cannot align it with generation ${other.generation}`);
  }
  if (u.generation === current) return u;
  notes.push({ unit: name, side, from: u.generation, to: current });
  return { ...u, generation: current, state: registry.upgrade(name, u.state, u.generation) };
}

/** `s` with every unit at its newest generation and the unit-set steps applied (units renamed, merged, moved into the init state). */
function currentSide(registry: UnitRegistry, s: DecodedSnapshot, side: 'a' | 'b', notes: UpgradeNote[]): DecodedSnapshot {
  const known = Object.entries(s.units).filter(([n]) => registry.has(n));
  const newest = (n: string) => currentGeneration(registry.get(n)).generation;
  // The same upgrade and unit-set steps a restore runs.
  const set = currentUnitSet({
    units: known.map(([name, u]) => ({ name, state: u.state })),
    unitMeta: new Map(known.map(([name, u]) => [name, { package: u.package, generation: u.generation }])),
    init: s.init as InitState,
    vtl0: s.vtl0,
  }, registry);
  // A unit a step produced is noted as coming from the retired units' generation, not from units that passed through.
  const from = Math.max(...known.filter(([n]) => registry.isRetired(n)).map(([, u]) => u.generation));
  const out: Record<string, DecodedUnit> = Object.fromEntries(Object.entries(s.units).filter(([n]) => !registry.has(n)));
  for (const u of set.units) {
    const was = s.units[u.name];
    const d = registry.get(u.name);
    out[u.name] = { package: d.package, generation: newest(u.name), state: u.state };
    if (was === undefined || was.generation !== newest(u.name)) notes.push({ unit: u.name, side, from: was?.generation ?? from, to: newest(u.name) });
  }
  return { ...s, units: out, init: set.init, vtl0: set.vtl0 };
}

/** `s` with every unit's state as `show` prints it: the unit's view (per-VP bytes decoded by name). */
export function viewSnapshot(s: DecodedSnapshot, registry: UnitRegistry = defaultRegistry()): DecodedSnapshot {
  const units: DecodedSnapshot['units'] = {};
  for (const [n, u] of Object.entries(s.units)) units[n] = { ...u, state: registry.view(n, u.state) };
  return { ...s, units };
}

/**
 * Copies of `a` and `b` in which every unit held in different generations on the two sides is
 * upgraded to the current generation (STATE_SCHEMA / STATE_GENERATION on state that cannot be).
 */
export function alignSnapshots(a: DecodedSnapshot, b: DecodedSnapshot, registry: UnitRegistry = defaultRegistry()): { a: DecodedSnapshot; b: DecodedSnapshot; upgraded: UpgradeNote[] } {
  const upgraded: UpgradeNote[] = [];
  const holdsRetired = (s: DecodedSnapshot) => Object.keys(s.units).some((n) => registry.isRetired(n));
  // A side written before a unit-set change is brought to today's units, so both name the same units.
  if (holdsRetired(a) !== holdsRetired(b)) {
    if (holdsRetired(a)) a = currentSide(registry, a, 'a', upgraded);
    else b = currentSide(registry, b, 'b', upgraded);
  }
  const [ua, ub] = [{ ...a.units }, { ...b.units }];
  for (const n of Object.keys(ua).sort()) {
    const [x, y] = [ua[n], ub[n]];
    if (x === undefined || y === undefined) continue;
    ua[n] = aligned(registry, n, x, y, 'a', upgraded);
    ub[n] = aligned(registry, n, y, x, 'b', upgraded);
  }
  return { a: { ...a, units: ua }, b: { ...b, units: ub }, upgraded };
}

/** Every difference between snapshots `a` and `b`; units of different generations are upgraded first (STATE_* on bad state). */
export function diffSnapshots(a: DecodedSnapshot, b: DecodedSnapshot, registry: UnitRegistry = defaultRegistry()): SnapshotDiff {
  const al = alignSnapshots(a, b, registry);
  const units: Record<string, Change[]> = {};
  const names = [...new Set([...Object.keys(al.a.units), ...Object.keys(al.b.units)])].sort();
  const unitsAdded = names.filter((n) => !(n in al.a.units));
  const unitsRemoved = names.filter((n) => !(n in al.b.units));
  for (const n of names) {
    // As written where the unit exists on that side under this name, else as the unit-set step made it.
    const [ua, ub] = [al.a.units[n], al.b.units[n]];
    const [ra, rb] = [a.units[n] ?? ua, b.units[n] ?? ub];
    if (ra === undefined || rb === undefined || ua === undefined || ub === undefined) continue;
    // Package and generation as written, then the state after alignment.
    const changes: Change[] = [];
    if (ra.package !== rb.package) changes.push({ path: `${n}:package`, kind: 'changed', from: ra.package, to: rb.package });
    if (ra.generation !== rb.generation) changes.push({ path: `${n}:generation`, kind: 'changed', from: ra.generation, to: rb.generation });
    // Compared as the unit's view: per-VP bytes decoded by name, so a change names its field.
    if (!sameValues(ua.state, ub.state)) changes.push(...diffValues(registry.view(n, ua.state, ub.state), registry.view(n, ub.state, ua.state), n));
    if (changes.length > 0) units[n] = changes;
  }
  // The hypervisor state, the host-kept VTL0 ring pages and the init state sit beside the units.
  for (const [key, va, vb] of [['hv', a.hv, b.hv], ['vtl0', al.a.vtl0, al.b.vtl0], ['init', al.a.init, al.b.init]] as const) {
    const changes = diffValues(va, vb, key);
    if (changes.length > 0) units[key] = changes;
  }
  const ref = (s: DecodedSnapshot) => ({ id: s.manifest.id ?? null, name: s.manifest.name === undefined ? null : `${s.manifest.name}${s.manifest.seq === undefined ? '' : `@${s.manifest.seq}`}` });
  return {
    a: ref(a),
    b: ref(b),
    manifest: diffValues(manifestView(a), manifestView(b), 'manifest'),
    unitsAdded,
    unitsRemoved,
    units,
    upgraded: al.upgraded,
  };
}

/** True when the diff lists no difference at all. */
export function isEmptyDiff(d: SnapshotDiff): boolean {
  return d.manifest.length === 0 && d.unitsAdded.length === 0 && d.unitsRemoved.length === 0 && Object.keys(d.units).length === 0;
}
