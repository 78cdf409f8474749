/** Types of the snapshot store's public surface (DESIGN.md §4). */

/** One part of a snapshot as the caller hands it in: a named byte blob plus free-form metadata. */
export interface PartInput {
  /** Unique within the snapshot (e.g. `servicing`, `hv`, `unit/vp`). */
  name: string;
  bytes: Uint8Array;
  /** Canonical-msgpack-encodable metadata kept in the manifest (generation, schema name…). */
  meta?: Record<string, unknown>;
}

/** A part as the manifest records it: the blob is found by its sha256. */
export interface PartRef {
  name: string;
  /** Lowercase hex sha256 of the blob bytes; also the blob's key. */
  sha256: string;
  /** Blob length in bytes. */
  size: number;
  meta: Record<string, unknown>;
}

/** The manifest as stored: its canonical msgpack bytes hash to the snapshot id. */
export interface ManifestBody {
  /** Manifest format version; 1. */
  format: number;
  /** Snapshot name (VM name); `NAME@seq` addresses it. */
  name: string;
  /** 1-based sequence number per name. */
  seq: number;
  /** Id of the snapshot this one was restored from, or null. */
  parent: string | null;
  /** ISO 8601 creation time. */
  time: string;
  /** hclckpt version that wrote it. */
  tool: string;
  /** Caller data: config, overrides, IGVM digest, generation, topology summary… */
  info: Record<string, unknown>;
  parts: PartRef[];
}

/** A manifest with its id (sha256 hex of the canonical manifest bytes). */
export interface Manifest extends ManifestBody {
  id: string;
}

/** Input of `putSnapshot`; `seq` is assigned by the store. */
export interface PutSnapshotInput {
  name: string;
  parts: PartInput[];
  /** Default null. */
  parent?: string | null;
  /** Default: now. Tests pass a fixed time for reproducible ids. */
  time?: string;
  /** Default: this package's version. */
  tool?: string;
  /** Default `{}`. */
  info?: Record<string, unknown>;
}

/** What `putSnapshot` / `importSnapshot` wrote. */
export interface PutResult {
  id: string;
  name: string;
  seq: number;
  /** Total bytes of all parts. */
  bytes: number;
  /** Bytes of blobs that were not in the store before (dedup saves the rest). */
  newBytes: number;
  /** Number of blobs written. */
  newBlobs: number;
}

/** A snapshot read back and verified: manifest plus part bytes by part name. */
export interface Snapshot {
  manifest: Manifest;
  parts: Map<string, Uint8Array>;
}

/** One problem `verify` found; `part` is null for manifest-level problems. */
export interface VerifyProblem {
  snapshot: string;
  part: string | null;
  problem: string;
}

/** Result of `verify`. */
export interface VerifyReport {
  /** Snapshots checked. */
  snapshots: number;
  /** Distinct blobs checked. */
  blobs: number;
  problems: VerifyProblem[];
}

/** Result of `gc`. */
export interface GcReport {
  removedBlobs: number;
  freedBytes: number;
  keptBlobs: number;
}

/** Result of `importSnapshot`; `imported` is false when the snapshot was already there. */
export interface ImportResult extends PutResult {
  imported: boolean;
}
