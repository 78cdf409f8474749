import { HclError } from '../errors.ts';
import { decodeCanonical } from '../state/codec.ts';
import { defaultRegistry, type UnitRegistry } from './registry.ts';
import type { DecodedManifest, DecodedSnapshot, DecodedUnit } from '../diff/types.ts';

/**
 * Decodes a snapshot's parts (from the store or an `.hclsnap` archive) into a DecodedSnapshot.
 * Part layout: `unit/<name>` holds one unit's state as canonical msgpack, with `generation` and
 * `package` in the part's meta (else the manifest's `info.generation` and the registry's package);
 * `hv` holds the hypervisor state; `init` the init state (lib/snapshot/parts.ts writes this layout).
 * Other parts (`persisted`, `igvm`) are not canonical msgpack and are left out.
 */

/** Prefix of unit part names. */
export const UNIT_PART_PREFIX = 'unit/';

/** The part refs and bytes a decoder needs: what both `Snapshot` and `ArchiveContents` carry. */
export interface SnapshotParts {
  manifest: DecodedManifest & { id: string; parts: ReadonlyArray<{ name: string; meta: Record<string, unknown> }> };
  parts: ReadonlyMap<string, Uint8Array>;
}

function positiveInt(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : undefined;
}

/** Decodes every part; STATE_DECODE names the snapshot and part when a blob is not canonical msgpack. */
export function decodeSnapshot(snap: SnapshotParts, registry: UnitRegistry = defaultRegistry()): DecodedSnapshot {
  const m = snap.manifest;
  const where = `snapshot ${m.id.slice(0, 12)}`;
  const units: Record<string, DecodedUnit> = {};
  const { parts: _refs, ...manifest } = m;
  const out: DecodedSnapshot = { manifest, units };
  const fallbackGeneration = positiveInt(m.info?.['generation']) ?? 1;
  for (const p of m.parts) {
    if (!p.name.startsWith(UNIT_PART_PREFIX) && p.name !== 'hv' && p.name !== 'init') continue;
    const bytes = snap.parts.get(p.name);
    if (bytes === undefined) throw new HclError('STATE_DECODE', `${where}: part ${p.name} has no bytes`);
    const value = decodeCanonical(bytes, `${where} part ${p.name}`);
    if (p.name.startsWith(UNIT_PART_PREFIX)) {
      const name = p.name.slice(UNIT_PART_PREFIX.length);
      const pkg = typeof p.meta['package'] === 'string' ? p.meta['package'] : registry.get(name).package;
      units[name] = { package: pkg, generation: positiveInt(p.meta['generation']) ?? fallbackGeneration, state: value };
    } else if (p.name === 'hv') out.hv = value;
    else if (p.name === 'init') out.init = value;
  }
  return out;
}
