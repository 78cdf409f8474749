/** Types shared by the snapshot diff, its renderers and the schema compatibility check. */

/** Kind of one value change. */
export type ChangeKind = 'added' | 'removed' | 'changed';

/**
 * One difference at a field path (`nvme.controllers[0].ioQueues[3].sqTail`). For byte buffers
 * `from`/`to` hold the differing bytes of one range and `range` its bounds.
 */
export interface Change {
  path: string;
  kind: ChangeKind;
  from?: unknown;
  to?: unknown;
  /** Changed byte range `[start, end)` inside a byte buffer. */
  range?: { start: number; end: number };
}

/** A unit whose older-generation state was upgraded before comparing. */
export interface UpgradeNote {
  unit: string;
  side: 'a' | 'b';
  from: number;
  to: number;
}

/** The result of `diffSnapshots`. */
export interface SnapshotDiff {
  a: { id: string | null; name: string | null };
  b: { id: string | null; name: string | null };
  /** Manifest-level changes: config, overrides, IGVM digest, usermode version, generation. */
  manifest: Change[];
  unitsAdded: string[];
  unitsRemoved: string[];
  /** Field changes per unit (including `hv` and `init`), only units that differ, sorted by name. */
  units: Record<string, Change[]>;
  upgraded: UpgradeNote[];
}
