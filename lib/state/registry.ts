import { HclError } from '../errors.ts';
import { checkSchema, currentGeneration, type UnitDescriptor, type UnitGeneration } from './unit.ts';

/**
 * The schema registry: every state unit's descriptor (all generations), validation with field
 * paths, upgrades from older generations, and the schema dump that `schema check` compares.
 */

/** One unit's entry in the schema dump. */
export interface SchemaDumpUnit {
  name: string;
  package: string;
  generation: number;
  /** JSON Schema of the current generation; bigint and bytes carry an `x-encoding`. */
  schema: unknown;
}

/** The schema dump: format tag, every unit sorted by name, and the hypervisor state schema. */
export interface SchemaDump {
  format: 'hclckpt-schema/1';
  units: SchemaDumpUnit[];
  hypervisor: SchemaDumpUnit | null;
}

/** A set of unit descriptors, keyed by unit name. */
export class UnitRegistry {
  readonly #units = new Map<string, UnitDescriptor>();
  readonly #hypervisor: UnitDescriptor | undefined;

  constructor(descriptors: readonly UnitDescriptor[], hypervisor?: UnitDescriptor) {
    for (const d of descriptors) {
      if (this.#units.has(d.name)) throw new TypeError(`unit ${d.name} registered twice`);
      d.generations.forEach((g, i) => {
        if (g.generation !== i + 1) throw new TypeError(`unit ${d.name}: generation ${g.generation} out of order`);
      });
      this.#units.set(d.name, d);
    }
    this.#hypervisor = hypervisor;
  }

  /** Registered unit names, sorted. */
  names(): string[] {
    return [...this.#units.keys()].sort();
  }

  /** The descriptor of `name`; STATE_UNKNOWN_UNIT when there is none. */
  get(name: string): UnitDescriptor {
    const d = this.#units.get(name);
    if (d === undefined) throw new HclError('STATE_UNKNOWN_UNIT', `unit ${name}: no such state unit (known: ${this.names().join(', ')})`);
    return d;
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
    for (const g of d.generations.slice(from)) {
      if (g.upgrade === undefined) throw new TypeError(`unit ${name}: generation ${g.generation} has no upgrader`);
      v = g.upgrade(v);
      checkSchema(name, g.schema, v);
    }
    return v;
  }

  /** Every unit's current schema, sorted by name, with keys sorted: the same set gives the same JSON. */
  schemaDump(): SchemaDump {
    const entry = (d: UnitDescriptor): SchemaDumpUnit => {
      const g = currentGeneration(d);
      return { name: d.name, package: d.package, generation: g.generation, schema: jsonSchema(g.schema) };
    };
    return {
      format: 'hclckpt-schema/1',
      units: this.names().map((n) => entry(this.get(n))),
      hypervisor: this.#hypervisor === undefined ? null : entry(this.#hypervisor),
    };
  }

  #generation(name: string, generation?: number): UnitGeneration {
    const d = this.get(name);
    if (generation === undefined) return currentGeneration(d);
    const g = d.generations[generation - 1];
    if (g === undefined) {
      throw new HclError('STATE_GENERATION', `unit ${name}: generation ${generation} unknown (have 1..${d.generations.length})`);
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
