import { HclError } from '../errors.ts';
import { decodePersistedPart, type PersistedPart } from '../abi/index.ts';
import { currentHv, hvView } from '../hv/index.ts';
import { defaultRegistry } from './registry.ts';
import {
  FIELDS_GENERATION, InitStateSchema, LegacyInitStateSchema, ObservedSchema, checkSchema, decodeCanonical, decodeFields, upgradeLegacyInit,
  type InitState, type Observed, type ServicingState, type UnitRegistry,
} from '../state/index.ts';
import type { Snapshot } from '../store/index.ts';
import { PART } from './parts.ts';

/**
 * Decodes a snapshot's parts (from the store or an `.hclsnap` archive), in the layout
 * lib/snapshot/parts.ts writes. A unit part's `generation` and `package` come from its meta, else
 * the manifest's `info.generation` and the registry's package. The init state of generations 1–2
 * (name-keyed, with topology, options and usermode version inside) is upgraded on read.
 */

/** One unit of a decoded snapshot: its package, the generation its state was written in, and the state. */
export interface DecodedUnit {
  package: string;
  generation: number;
  state: unknown;
}

/** The manifest fields a diff compares; `info` holds config, overrides, IGVM digest, generation… */
export interface DecodedManifest {
  id?: string;
  name?: string;
  seq?: number;
  time?: string;
  /** hclckpt version that wrote the snapshot. */
  tool?: string;
  parent?: string | null;
  info?: Record<string, unknown>;
}

/** A snapshot decoded into plain values (`crit decode`-style): manifest, units by name, hypervisor and init state. */
export interface DecodedSnapshot {
  manifest: DecodedManifest;
  units: Record<string, DecodedUnit>;
  hv?: unknown;
  /** The init state in today's shape (older generations upgraded). */
  init?: unknown;
  /** What hclckpt observed at save: the manifest's `info.observed`, or the old init state's fields. */
  observed?: unknown;
  /** The host-kept VTL0 ring control pages (the `vtl0` part; absent before generation 4). */
  vtl0?: unknown;
}


/** The part refs and bytes a decoder needs: what both `Snapshot` and `ArchiveContents` carry. */
export interface SnapshotParts {
  manifest: DecodedManifest & { id: string; parts: ReadonlyArray<{ name: string; meta: Record<string, unknown> }> };
  parts: ReadonlyMap<string, Uint8Array>;
}

function positiveInt(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : undefined;
}

/**
 * Decodes the canonical-msgpack parts (units, `hv`, `init`); STATE_DECODE names the snapshot and
 * part when a blob is not canonical msgpack. `hv` is its registers by name for `show` and `diff`,
 * or, with `hv: 'current'` (restore), the current generation's register file.
 */
export function decodeSnapshot(snap: SnapshotParts, registry: UnitRegistry = defaultRegistry(), hv: 'named' | 'current' = 'named'): DecodedSnapshot {
  const m = snap.manifest;
  const where = `snapshot ${m.id.slice(0, 12)}`;
  const units: Record<string, DecodedUnit> = {};
  const { parts: _refs, ...manifest } = m;
  const out: DecodedSnapshot = { manifest, units };
  const fallbackGeneration = positiveInt(m.info?.['generation']) ?? 1;
  for (const p of m.parts) {
    if (!p.name.startsWith(PART.unitPrefix) && p.name !== PART.hv && p.name !== PART.init && p.name !== PART.vtl0) continue;
    const bytes = snap.parts.get(p.name);
    if (bytes === undefined) throw new HclError('STATE_DECODE', `${where}: part ${p.name} has no bytes`);
    const context = `${where} part ${p.name}`;
    if (p.name.startsWith(PART.unitPrefix)) {
      const name = p.name.slice(PART.unitPrefix.length);
      const pkg = typeof p.meta['package'] === 'string' ? p.meta['package'] : registry.get(name).package;
      const generation = positiveInt(p.meta['generation']) ?? fallbackGeneration;
      // A unit this release does not know keeps its raw form, so `show` still prints it; restore refuses it.
      const state = registry.has(name) ? registry.decodeState(name, generation, bytes, context) : decodeCanonical(bytes, context);
      units[name] = { package: pkg, generation, state };
    } else if (p.name === PART.vtl0) {
      out.vtl0 = decodeCanonical(bytes, context);
    } else if (p.name === PART.hv) {
      const value = decodeCanonical(bytes, context);
      out.hv = hv === 'named' ? hvView(value) : currentHv(value, positiveInt(p.meta['generation']) ?? 1);
    } else if ((positiveInt(p.meta['generation']) ?? fallbackGeneration) >= FIELDS_GENERATION) {
      out.init = decodeFields(InitStateSchema, bytes, context);
      out.observed = m.info?.['observed'];
    } else {
      const old = decodeCanonical(bytes, context);
      checkSchema(`${where} init state`, LegacyInitStateSchema, old);
      ({ init: out.init, observed: out.observed } = upgradeLegacyInit(old));
    }
  }
  return out;
}

/** A snapshot's parts, decoded. */
export interface DecodedParts {
  init: InitState;
  /** Topology, options and usermode version the saving hclckpt observed. */
  observed: Observed;
  units: ServicingState['units'];
  /** Package and generation of each unit entry, by name. */
  unitMeta: Map<string, { package: string; generation: number }>;
  hv: unknown;
  /** The `vtl0` part as decoded (validated when handed back to the VM); undefined before generation 4. */
  vtl0: unknown;
  persisted: PersistedPart;
  igvm: Uint8Array;
}

function need(s: Snapshot, name: string): Uint8Array {
  const b = s.parts.get(name);
  if (b === undefined) throw new HclError('STATE_DECODE', `snapshot ${s.manifest.id.slice(0, 12)}: part ${name} is missing`);
  return b;
}

/**
 * Decodes a snapshot's parts for restore: the units, init and hv through the same decoder `show`
 * and `diff` use, plus the shim checkpoint and the IGVM. A unit blob of another package or type is
 * refused first (STATE_TYPE_MISMATCH); schema validation happens on restore.
 */
export function decodeParts(s: Snapshot, registry: UnitRegistry = defaultRegistry()): DecodedParts {
  const where = `snapshot ${s.manifest.id.slice(0, 12)}`;
  for (const p of s.manifest.parts) {
    const name = p.name.slice(PART.unitPrefix.length);
    if (p.name.startsWith(PART.unitPrefix) && registry.has(name)) registry.checkType(name, p.meta, `${where} part ${p.name}`);
  }
  const d = decodeSnapshot(s, registry, 'current');
  if (d.init === undefined || d.hv === undefined) throw new HclError('STATE_DECODE', `${where}: part ${d.init === undefined ? PART.init : PART.hv} is missing`);
  checkSchema(`${where} observed`, ObservedSchema, d.observed);
  const entries = Object.entries(d.units);
  return {
    init: d.init as InitState,
    observed: d.observed as Observed,
    units: entries.map(([name, u]) => ({ name, state: u.state })),
    unitMeta: new Map(entries.map(([name, u]) => [name, { package: u.package, generation: u.generation }])),
    hv: d.hv,
    vtl0: d.vtl0,
    persisted: decodePersistedPart(need(s, PART.persisted), s.manifest.parts.find((p) => p.name === PART.persisted)?.meta['format']),
    igvm: need(s, PART.igvm),
  };
}
