import { Type, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { HclError } from '../errors.ts';

/**
 * State units: one device or subsystem of openvmm_hcl whose state is saved across servicing.
 * A unit declares a stable package name, the schema of every generation it has ever written
 * (with an upgrader from the previous one), and saves/restores its current generation.
 */

/** One generation of a unit's saved-state schema; `upgrade` turns the previous generation's value into this one. */
export interface UnitGeneration {
  /**
   * Release generation that introduced this shape, strictly increasing within a descriptor (a
   * unit that did not change in a release has no entry for it); the last entry is the current one.
   */
  readonly generation: number;
  /** TypeBox schema of the saved value in this generation. */
  readonly schema: TSchema;
  /** How the bytes name fields: by property name (generations 1–2) or by field number (lib/state/fields.ts). */
  readonly wire?: 'names' | 'fields';
  /** Converts a value of generation `generation - 1` (already validated) into this generation. */
  readonly upgrade?: (previous: unknown) => unknown;
  /**
   * Converts a value of this generation (already validated) back into generation `generation - 1`
   * for servicing to an older release; throws STATE_GENERATION when the state uses something the
   * older generation cannot express.
   */
  readonly downgrade?: (current: unknown) => unknown;
}

/**
 * Save ranks in OpenHCL's order (underhill_core dispatch/mod.rs `LoadedVm::save`): after the
 * emulated-platform glue (which goes into the init state) come the DMA and NVMe managers, then
 * every state unit at once (`save_units`), then MANA, VMGS and the VMBus client. The NVMe
 * manager saves into the init state before any unit; `nvme` is the rank of the retired `nvme`
 * unit (generations 1–3) that stood in for it. Every live unit is a state unit (`other`). A save
 * goes by rank, ties in the order the units were given.
 */
export const SAVE_RANK = { nvme: 0, other: 1 } as const;
/** One of the save ranks. */
export type SaveRank = (typeof SAVE_RANK)[keyof typeof SAVE_RANK];

/** The static description of a unit: what the registry and the schema dump know about it. */
export interface UnitDescriptor {
  /** Unit name as it appears in `ServicingState.units[].name`, e.g. "nvme". */
  readonly name: string;
  /** Stable package name, part of the data; never changes (e.g. "openvmm.nvme"). */
  readonly package: string;
  /**
   * Message name of the saved-state type; with the package it is the type URL, as `SavedStateBlob`'s
   * protobuf Any carries. Every openvmm_hcl unit has one; the hypervisor's state part does not.
   */
  readonly message?: string;
  /** Where the unit saves in OpenHCL's order (`SAVE_RANK`). */
  readonly saveRank: SaveRank;
  /** Every generation, oldest first. */
  readonly generations: readonly UnitGeneration[];
  /**
   * What `show`, `diff` and the restore proof print for a current-generation value (bytes decoded
   * by name); absent: the value itself. Given the value it is compared with, parts equal in both
   * may stay undecoded (the same on both sides, so they still compare equal).
   */
  readonly view?: (state: unknown, other?: unknown) => unknown;
}

/** A live state unit; `S` is the static type of its current schema. */
export interface StateUnit<S = unknown> {
  readonly name: string;
  readonly package: string;
  /** Where the unit saves in OpenHCL's order (its descriptor's `saveRank`). */
  readonly saveRank: SaveRank;
  /** Current schema generation (the one `save` writes). */
  readonly generation: number;
  readonly schema: TSchema;
  /** A deep copy of the unit's state; later operations do not change it. */
  save(): S;
  /** Replaces the unit's state with a copy of `state` (already schema-validated by the caller). */
  restore(state: S): void;
  /** The state of a freshly booted unit; used when a snapshot has no entry for it. */
  defaultState(): S;
  /** Quiesces the unit before a save (OpenHCL stops state units first). */
  stop?(): void;
  /** Resumes a stopped unit (after a failed save, or after restore). */
  start?(): void;
}

/** The generation that switched every unit to field-numbered bytes. */
export const FIELDS_GENERATION = 3;

/**
 * A unit's generation 3: the shape of its previous generation, now with field numbers in
 * `schema`; name-keyed state of the previous generation reads unchanged (and writes back unchanged).
 */
export function fieldsGeneration(schema: TSchema): UnitGeneration {
  return { generation: FIELDS_GENERATION, schema, wire: 'fields', upgrade: (v) => v, downgrade: (v) => v };
}

/** `package.message`: the saved-state type a unit's blob claims to be. */
export function typeUrl(d: Pick<UnitDescriptor, 'package' | 'message'>): string {
  return d.message === undefined ? d.package : `${d.package}.${d.message}`;
}

/** The current (last) generation of a descriptor. */
export function currentGeneration(d: UnitDescriptor): UnitGeneration {
  const g = d.generations[d.generations.length - 1];
  if (g === undefined) throw new TypeError(`unit ${d.name} declares no generation`);
  return g;
}

/** Largest u64, the bound of every `u64()` field. */
export const U64_MAX = 0xffff_ffff_ffff_ffffn;

const desc = (description?: string) => (description === undefined ? {} : { description });

/** An unsigned integer field of `bits` width (≤ 32), as a JS number. */
export function uint(bits: 8 | 16 | 32, description?: string): ReturnType<typeof Type.Integer> {
  return Type.Integer({ minimum: 0, maximum: 2 ** bits - 1, ...desc(description) });
}

/** A u64 field: a bigint in `[0, 2^64)`. */
export function u64(description?: string): ReturnType<typeof Type.BigInt> {
  return Type.BigInt({ minimum: 0n, maximum: U64_MAX, ...desc(description) });
}

/** An i64 field: a signed bigint (OpenVMM writes it as a zigzag sint64). */
export function i64(description?: string): ReturnType<typeof Type.BigInt> {
  return Type.BigInt({ minimum: -(1n << 63n), maximum: (1n << 63n) - 1n, ...desc(description) });
}

/** A byte buffer field, optionally bounded in length. */
export function bytes(maxByteLength?: number, description?: string): ReturnType<typeof Type.Uint8Array> {
  return Type.Uint8Array({ ...(maxByteLength === undefined ? {} : { maxByteLength }), ...desc(description) });
}

/** Turns a JSON pointer (`/ioQueues/3/tail`) into a field path (`ioQueues[3].tail`). */
export function fieldPath(pointer: string): string {
  if (pointer === '' || pointer === '/') return '(root)';
  let out = '';
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(seg) ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  }
  return out;
}

// Every unit is checked on save and again on restore; a compiled checker is many times faster
// than interpreting the schema each time. Errors (the slow path) still come from Value.Errors.
const checkers = new WeakMap<TSchema, TypeCheck<TSchema>>();

function compiled(schema: TSchema): TypeCheck<TSchema> {
  let c = checkers.get(schema);
  if (c === undefined) checkers.set(schema, (c = TypeCompiler.Compile(schema)));
  return c;
}

/**
 * Validates `value` against `schema`; on failure throws STATE_SCHEMA `label: path: message` for
 * the first error, with every error in `context.errors`.
 */
export function checkSchema(label: string, schema: TSchema, value: unknown): void {
  if (compiled(schema).Check(value)) return;
  const errors = [...Value.Errors(schema, value)].map((e) => ({
    path: fieldPath(e.path),
    message: e.message.charAt(0).toLowerCase() + e.message.slice(1),
  }));
  const first = errors[0] ?? { path: '(root)', message: 'invalid value' };
  throw new HclError('STATE_SCHEMA', `${label}: ${first.path}: ${first.message}`, { context: { unit: label, errors } });
}
