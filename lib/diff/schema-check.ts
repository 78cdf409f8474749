import { HclError } from '../errors.ts';
import type { RetiredUnit, SchemaDump, SchemaDumpUnit } from '../state/index.ts';
import { compareNodes, isNumbered, type Direction, type Emit, type SchemaChangeKind } from './schema-nodes.ts';

/**
 * `schema check OLD NEW`: every change between two schema dumps, judged by DESIGN.md §3 (a package
 * never changes, fields are never renamed or retyped, new fields are optional with a documented
 * default; from generation 3 OpenVMM's field-number rules, lib/diff/schema-nodes.ts). "Backward" means the new release reading state the old one wrote (upgrade); "forward"
 * means the old release reading state the new one wrote (servicing back, `save --generation`).
 */

/** One change found between the dumps. */
export interface SchemaFinding {
  unit: string;
  /** Field path inside the unit's state (`controllers[].ioQueues[].sqTail`), `(root)` or `(unit)`. */
  path: string;
  kind: SchemaChangeKind;
  breaking: boolean;
  /** Directions it breaks; for a compatible change, empty. */
  breaks: Direction[];
  /** What changed and why it does or does not break. */
  message: string;
}

/** A dump unit with the generations its release reads (upgraders) and writes (downgraders); see `schemaDumpWithReach`. */
export type ReachDumpUnit = SchemaDumpUnit & { reads?: number[]; writes?: number[] };

/** Result of `checkSchemaCompat`. */
export interface SchemaReport {
  compatible: boolean;
  breaking: SchemaFinding[];
  compatibleChanges: SchemaFinding[];
}

const NEXT = '; bump the generation and add an upgrader';

function entries(d: SchemaDump): Map<string, SchemaDumpUnit> {
  const m = new Map<string, SchemaDumpUnit>(d.units.map((u) => [u.name, u]));
  if (d.hypervisor !== null) m.set(d.hypervisor.name, d.hypervisor);
  return m;
}

/** Compares two schema dumps; breaking findings first by unit and path, compatible ones after. */
export function checkSchemaCompat(oldDump: SchemaDump, newDump: SchemaDump): SchemaReport {
  const found: SchemaFinding[] = [];
  const [olds, news] = [entries(oldDump), entries(newDump)];
  for (const name of [...new Set([...olds.keys(), ...news.keys()])].sort()) {
    const [o, n] = [olds.get(name), news.get(name)];
    const push = (path: string, kind: SchemaChangeKind, breaks: Direction[], message: string): void => {
      found.push({ unit: name, path, kind, breaking: breaks.length > 0, breaks, message });
    };
    const retired = n === undefined ? newDump.retired?.find((r) => r.name === name && r.package === o?.package) : undefined;
    if (retired !== undefined) {
      // The new release still reads it (a retired descriptor) and turns it into its successors;
      // whether it can write it back is the step's downgrade, checked by the tests of that step.
      const into = retired.into.length === 0 ? 'the init state' : retired.into.join(', ');
      push('(unit)', 'unit-retired', [], `unit retired in generation ${retired.retiredIn} (into ${into}): ${retired.why}`);
      continue;
    }
    if (n === undefined) {
      push('(unit)', 'unit-removed', ['backward'], `unit removed (package ${o?.package}): a snapshot written by the old release holds it and the new release refuses an unknown unit`);
      continue;
    }
    if (o === undefined) {
      // A unit a unit-set step builds from retired ones is made from what old snapshots hold, not defaulted.
      const from = (newDump.retired ?? []).filter((r) => r.into.includes(name)).map((r) => r.name);
      push('(unit)', 'unit-added', [], from.length > 0
        ? `new unit (package ${n.package}, generation ${n.generation}): built from ${from.join(' + ')} of older snapshots; a downgrade splits it back`
        : `new unit (package ${n.package}, generation ${n.generation}): old snapshots restore it in its default state; a downgrade must leave it out`);
      continue;
    }
    if (o.package !== n.package) {
      push('(unit)', 'package-renamed', ['backward', 'forward'], `package renamed ${o.package} → ${n.package}: a package name is part of the data, neither release finds the other's state`);
    }
    if (o.message !== undefined && n.message !== undefined && o.message !== n.message) {
      push('(unit)', 'message-renamed', ['backward', 'forward'], `message renamed ${o.message} → ${n.message}: the type URL is part of the data, restore refuses a blob of another type`);
    }
    if (!isNumbered(o.schema) && isNumbered(n.schema)) {
      const ok = n.generation > o.generation;
      push('(unit)', 'wire-numbered', ok ? [] : ['backward', 'forward'], ok
        ? `generation ${o.generation} → ${n.generation}: the bytes are now keyed by field number; the new release still reads the name-keyed form`
        : `the bytes became field-numbered but generation stays ${n.generation}: the generation is what tells the two forms apart${NEXT}`);
    }
    const before = found.length;
    // Field-level breaks are covered when the new release upgrades the old generation on read
    // (backward) or can write it for servicing back (forward), as DESIGN.md §3 prescribes.
    const reach = n as ReachDumpUnit;
    const bumped = n.generation > o.generation;
    const covered = (d: Direction) => bumped && (d === 'backward' ? reach.reads : reach.writes)?.includes(o.generation) === true;
    const emit: Emit = (path, kind, breaks, message) => {
      const left = breaks.filter((d) => !covered(d));
      const by = breaks.filter(covered).map((d) => (d === 'backward' ? `upgraded on read from generation ${o.generation}` : `written as generation ${o.generation} by its downgrader`));
      push(path, kind, left, by.length === 0 ? message : `${message} — handled: ${by.join('; ')}`);
    };
    compareNodes(o.schema, n.schema, '(root)', emit);
    const changed = found.length > before;
    if (n.generation < o.generation) {
      push('(unit)', 'generation-decreased', ['backward', 'forward'], `generation went down ${o.generation} → ${n.generation}: generations only grow`);
    } else if (changed && n.generation === o.generation) {
      push('(unit)', 'generation-not-bumped', ['backward', 'forward'], `schema changed but generation stays ${n.generation}: one generation number would name two shapes${NEXT}`);
    }
  }
  const byPlace = (a: SchemaFinding, b: SchemaFinding) => (a.unit === b.unit ? (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) : a.unit < b.unit ? -1 : 1);
  const breaking = found.filter((f) => f.breaking).sort(byPlace);
  const compatibleChanges = found.filter((f) => !f.breaking).sort(byPlace);
  return { compatible: breaking.length === 0, breaking, compatibleChanges };
}

/** Parses a schema dump's JSON text; JSON_INVALID names `file` and what is wrong where. */
export function parseSchemaDump(text: string, file: string): SchemaDump {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new HclError('JSON_INVALID', `${file}: not json: ${(e as Error).message}`, { cause: e });
  }
  const bad = (what: string): never => { throw new HclError('JSON_INVALID', `${file}: not a schema dump: ${what}`); };
  const d = typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : bad('expected an object');
  if (d['format'] !== 'hclckpt-schema/1') bad(`format ${JSON.stringify(d['format'])} is not "hclckpt-schema/1"`);
  const unit = (u: unknown, where: string): SchemaDumpUnit => {
    const r = typeof u === 'object' && u !== null ? (u as Record<string, unknown>) : bad(`${where}: expected an object`);
    if (typeof r['name'] !== 'string' || r['name'] === '') bad(`${where}.name: expected a non-empty string`);
    if (typeof r['package'] !== 'string' || r['package'] === '') bad(`${where}.package: expected a non-empty string`);
    if (r['message'] !== undefined && (typeof r['message'] !== 'string' || r['message'] === '')) bad(`${where}.message: expected a non-empty string`);
    if (!Number.isInteger(r['generation']) || (r['generation'] as number) < 1) bad(`${where}.generation: expected an integer ≥ 1`);
    if (typeof r['schema'] !== 'object' || r['schema'] === null) bad(`${where}.schema: expected an object`);
    for (const k of ['reads', 'writes']) {
      if (r[k] !== undefined && (!Array.isArray(r[k]) || !(r[k] as unknown[]).every((g) => Number.isInteger(g)))) bad(`${where}.${k}: expected a list of generations`);
    }
    return r as unknown as SchemaDumpUnit;
  };
  const units = Array.isArray(d['units']) ? d['units'].map((u, i) => unit(u, `units[${i}]`)) : bad('units: expected an array');
  const names = new Set<string>();
  for (const u of units) {
    if (names.has(u.name)) bad(`unit ${u.name} appears twice`);
    names.add(u.name);
  }
  const hypervisor = d['hypervisor'] === null || d['hypervisor'] === undefined ? null : unit(d['hypervisor'], 'hypervisor');
  // Units a unit-set step retired (dumps from generation 4 on): what `schema check` calls unit-retired.
  const retired = d['retired'] === undefined ? undefined : Array.isArray(d['retired']) ? d['retired'].map((r, i) => retiredUnit(r, `retired[${i}]`, bad)) : bad('retired: expected an array');
  return { format: 'hclckpt-schema/1', units, hypervisor, ...(retired === undefined ? {} : { retired }) };
}

function retiredUnit(v: unknown, where: string, bad: (what: string) => never): RetiredUnit {
  const r = typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : bad(`${where}: expected an object`);
  for (const k of ['name', 'package', 'why']) if (typeof r[k] !== 'string' || r[k] === '') bad(`${where}.${k}: expected a non-empty string`);
  for (const k of ['generation', 'retiredIn']) if (!Number.isInteger(r[k])) bad(`${where}.${k}: expected an integer`);
  if (!Array.isArray(r['into']) || !r['into'].every((n) => typeof n === 'string')) bad(`${where}.into: expected a list of unit names`);
  return r as unknown as RetiredUnit;
}
