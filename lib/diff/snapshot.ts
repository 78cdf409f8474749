import { HclError } from '../errors.ts';
import { defaultRegistry, type DecodedSnapshot, type DecodedUnit } from '../snapshot/index.ts';
import { type UnitRegistry, currentGeneration } from '../state/index.ts';
import type { Change, SnapshotDiff, UpgradeNote } from './types.ts';
import { diffValues } from './values.ts';

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

/**
 * Copies of `a` and `b` in which every unit held in different generations on the two sides is
 * upgraded to the current generation (STATE_SCHEMA / STATE_GENERATION on state that cannot be).
 */
export function alignSnapshots(a: DecodedSnapshot, b: DecodedSnapshot, registry: UnitRegistry = defaultRegistry()): { a: DecodedSnapshot; b: DecodedSnapshot; upgraded: UpgradeNote[] } {
  const upgraded: UpgradeNote[] = [];
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
  const names = [...new Set([...Object.keys(a.units), ...Object.keys(b.units)])].sort();
  const unitsAdded = names.filter((n) => !(n in a.units));
  const unitsRemoved = names.filter((n) => !(n in b.units));
  for (const n of names) {
    const [ra, rb, ua, ub] = [a.units[n], b.units[n], al.a.units[n], al.b.units[n]];
    if (ra === undefined || rb === undefined || ua === undefined || ub === undefined) continue;
    // Package and generation as written, then the state after alignment.
    const changes: Change[] = [];
    if (ra.package !== rb.package) changes.push({ path: `${n}:package`, kind: 'changed', from: ra.package, to: rb.package });
    if (ra.generation !== rb.generation) changes.push({ path: `${n}:generation`, kind: 'changed', from: ra.generation, to: rb.generation });
    changes.push(...diffValues(ua.state, ub.state, n));
    if (changes.length > 0) units[n] = changes;
  }
  // The hypervisor state and init state sit beside the units, compared as they are.
  for (const [key, va, vb] of [['hv', a.hv, b.hv], ['init', a.init, b.init]] as const) {
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
