import { HclError } from '../errors.ts';
import { decodeCanonical, encodeCanonical } from './codec.ts';
import { checkFieldNumbers, decodeFields, encodeFields } from './fields.ts';
import { checkSchema, currentGeneration, typeUrl, type UnitDescriptor, type UnitGeneration } from './unit.ts';
import { checkSteps, toCurrentUnitSet, toUnitSetOf, type UnitSet, type UnitSetStep } from './unit-set.ts';

/**
 * The schema registry: every state unit's descriptor (all generations), validation with field
 * paths, upgrades from older generations, and the schema dump that `schema check` compares.
 */

/** One unit's entry in the schema dump. */
export interface SchemaDumpUnit {
  name: string;
  package: string;
  /** Message name of the saved-state type (absent in dumps made before generation 3). */
  message?: string;
  generation: number;
  /** JSON Schema of the current generation; bigint and bytes carry an `x-encoding`. */
  schema: unknown;
}

/** A unit a release no longer writes: what it was and which unit-set step took its place. */
export interface RetiredUnit {
  name: string;
  package: string;
  /** Its last generation, the one the step reads. */
  generation: number;
  /** The release generation of the step that retired it. */
  retiredIn: number;
  /** The units it became (empty: moved into the init state). */
  into: string[];
  why: string;
}

/** The schema dump: format tag, every unit sorted by name, the hypervisor state schema, and (from generation 4) the retired units. */
export interface SchemaDump {
  format: 'hclckpt-schema/1';
  units: SchemaDumpUnit[];
  hypervisor: SchemaDumpUnit | null;
  retired?: RetiredUnit[];
}

/** Units a registry reads but no longer writes, and the steps that replaced them. */
export interface UnitSetHistory {
  retired: readonly UnitDescriptor[];
  steps: readonly UnitSetStep[];
}

/** A set of unit descriptors, keyed by unit name. */
export class UnitRegistry {
  readonly #units = new Map<string, UnitDescriptor>();
  readonly #retired = new Set<string>();
  readonly #hypervisor: UnitDescriptor | undefined;
  readonly #steps: readonly UnitSetStep[];

  constructor(descriptors: readonly UnitDescriptor[], hypervisor?: UnitDescriptor, history: UnitSetHistory = { retired: [], steps: [] }) {
    checkSteps(history.steps);
    for (const d of [...descriptors, ...history.retired]) {
      if (this.#units.has(d.name)) throw new TypeError(`unit ${d.name} registered twice`);
      d.generations.forEach((g, i) => {
        const prev = i === 0 ? 0 : d.generations[i - 1]!.generation;
        if (!Number.isInteger(g.generation) || g.generation <= prev) throw new TypeError(`unit ${d.name}: generation ${g.generation} out of order`);
        if (g.wire === 'fields') checkFieldNumbers(g.schema, `unit ${d.name} generation ${g.generation}`);
      });
      this.#units.set(d.name, d);
    }
    for (const d of history.retired) {
      if (!history.steps.some((s) => s.retires.includes(d.name))) throw new TypeError(`retired unit ${d.name}: no unit-set step retires it`);
      this.#retired.add(d.name);
    }
    for (const s of history.steps) {
      for (const n of s.retires) if (!this.#retired.has(n)) throw new TypeError(`unit-set step ${s.generation} retires ${n}, which has no retired descriptor`);
      for (const n of s.produces) if (!this.#units.has(n) || this.#retired.has(n)) throw new TypeError(`unit-set step ${s.generation} produces ${n}, which is no live unit`);
    }
    this.#steps = history.steps;
    this.#hypervisor = hypervisor;
  }

  /** Names of the units this release writes, sorted (retired units are left out). */
  names(): string[] {
    return [...this.#units.keys()].filter((n) => !this.#retired.has(n)).sort();
  }

  /** Whether `name` is a unit this registry reads (live or retired). */
  has(name: string): boolean {
    return this.#units.has(name);
  }

  /** Whether `name` is a unit this release reads from older snapshots but no longer writes. */
  isRetired(name: string): boolean {
    return this.#retired.has(name);
  }

  /** The release generation this registry writes: the newest of its live units' generations and of its unit-set steps. */
  newestGeneration(): number {
    return Math.max(...this.names().map((n) => currentGeneration(this.get(n)).generation), ...this.#steps.map((s) => s.generation));
  }

  /** `set` (each unit at its newest generation) as this release's unit set (lib/state/unit-set.ts). */
  toCurrentSet(set: UnitSet): UnitSet {
    return toCurrentUnitSet(set, this.#steps);
  }

  /** `set` (this release's unit set) as release generation `generation` wrote it; each unit still at its newest generation. */
  toSetOf(set: UnitSet, generation: number): UnitSet {
    return toUnitSetOf(set, generation, this.#steps);
  }

  /** The descriptor of `name`; STATE_UNKNOWN_UNIT when there is none. */
  get(name: string): UnitDescriptor {
    const d = this.#units.get(name);
    if (d === undefined) throw new HclError('STATE_UNKNOWN_UNIT', `unit ${name}: no such state unit (known: ${this.names().join(', ')})`);
    return d;
  }

  /** `state` (current generation of `name`) as `show` and `diff` print it, compared with `other` if given: the descriptor's view, else itself. */
  view(name: string, state: unknown, other?: unknown): unknown {
    const view = this.#units.get(name)?.view;
    return view === undefined ? state : view(state, other);
  }

  /** Validates a unit's saved value against its current (or the given) generation's schema. */
  validateUnitState(name: string, value: unknown, generation?: number): void {
    checkSchema(name, this.#generation(name, generation).schema, value);
  }

  /** Validates `value` as generation `from` of `name` and upgrades it to the current generation. */
  upgrade(name: string, value: unknown, from: number): unknown {
    const d = this.get(name);
    this.validateUnitState(name, value, from);
    let v = value;
    for (const g of d.generations.filter((x) => x.generation > from)) {
      if (g.upgrade === undefined) throw new TypeError(`unit ${name}: generation ${g.generation} has no upgrader`);
      v = g.upgrade(v);
      checkSchema(name, g.schema, v);
    }
    return v;
  }

  /** A unit's value as the bytes generation `generation` writes: field-numbered or name-keyed canonical msgpack. */
  encodeState(name: string, generation: number, value: unknown): Uint8Array {
    const g = this.#generation(name, generation);
    return g.wire === 'fields' ? encodeFields(g.schema, value) : encodeCanonical(value);
  }

  /** Decodes a unit's bytes written in `generation` into a named value (not yet validated); STATE_DECODE starts with `context`. */
  decodeState(name: string, generation: number, bytes: Uint8Array, context: string): unknown {
    const g = this.#generation(name, generation);
    return g.wire === 'fields' ? decodeFields(g.schema, bytes, context) : decodeCanonical(bytes, context);
  }

  /**
   * Refuses a unit blob whose recorded package or type URL is not the unit's (STATE_TYPE_MISMATCH),
   * as `SavedStateBlob::parse` refuses an Any of another type; blobs written before generation 3 carry no type URL.
   */
  checkType(name: string, meta: { package?: unknown; type?: unknown }, where: string): void {
    const d = this.get(name);
    const want = typeUrl(d);
    const bad = (what: string, got: unknown): never => {
      throw new HclError('STATE_TYPE_MISMATCH', `${where}: unit ${name}: saved state ${what} ${JSON.stringify(got)}, expected ${JSON.stringify(what === 'package' ? d.package : want)}`);
    };
    if (meta.package !== undefined && meta.package !== d.package) bad('package', meta.package);
    if (meta.type !== undefined && meta.type !== want) bad('type', meta.type);
  }

  /** Every unit's current schema, sorted by name, with keys sorted: the same set gives the same JSON. */
  schemaDump(): SchemaDump {
    const entry = (d: UnitDescriptor): SchemaDumpUnit => {
      const g = currentGeneration(d);
      return { name: d.name, package: d.package, ...(d.message === undefined ? {} : { message: d.message }), generation: g.generation, schema: jsonSchema(g.schema) };
    };
    const retired = this.#steps.flatMap((s) => s.retires.map((n): RetiredUnit => {
      const d = this.get(n);
      return { name: n, package: d.package, generation: currentGeneration(d).generation, retiredIn: s.generation, into: [...s.produces], why: s.why };
    })).sort((a, b) => a.name.localeCompare(b.name));
    return {
      format: 'hclckpt-schema/1',
      units: this.names().map((n) => entry(this.get(n))),
      hypervisor: this.#hypervisor === undefined ? null : entry(this.#hypervisor),
      ...(retired.length === 0 ? {} : { retired }),
    };
  }

  #generation(name: string, generation?: number): UnitGeneration {
    const d = this.get(name);
    if (generation === undefined) return currentGeneration(d);
    const g = d.generations.find((x) => x.generation === generation);
    if (g === undefined) {
      throw new HclError('STATE_GENERATION', `unit ${name}: generation ${generation} unknown (have ${d.generations.map((x) => x.generation).join(', ')})`);
    }
    return g;
  }
}

/** A TypeBox schema as plain JSON Schema: sorted keys, bigint and byte fields marked by `x-encoding`. */
export function jsonSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(jsonSchema);
  if (typeof schema === 'bigint') return schema.toString();
  if (typeof schema !== 'object' || schema === null) return schema;
  const src = schema as Record<string, unknown>;
  const rec: Record<string, unknown> = { ...src };
  if (src['type'] === 'bigint') {
    // JSON Schema has no bigint; msgpack carries these as 64-bit integers, bounds as decimal strings.
    rec['type'] = 'integer';
    rec['x-encoding'] = 'u64';
  } else if (src['type'] === 'Uint8Array') {
    rec['type'] = 'string';
    rec['x-encoding'] = 'bin';
    rec['contentEncoding'] = 'base64';
  }
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(rec).sort()) out[k] = jsonSchema(rec[k]);
  return out;
}
