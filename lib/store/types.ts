/** Types of the snapshot store's public surface (DESIGN.md §4). */

/** One part of a snapshot as the caller hands it in: a named byte blob plus free-form metadata. */
export interface PartInput {
  /** Unique within the snapshot (e.g. `servicing`, `hv`, `unit/vp`). */
  name: string;
  bytes: Uint8Array;
  /** Canonical-msgpack-encodable metadata kept in the manifest (generation, schema name…). */
  meta?: Record<string, unknown>;
}

/** One content-addressed blob of a chunked part. */
export interface ChunkRef {
  /** Lowercase hex sha256 of the chunk bytes; also the blob's key. */
  sha256: string;
  size: number;
}

/**
 * A part as the manifest records it. An unchunked part is one blob keyed by its sha256; a chunked
 * one (manifest format 2, parts above CHUNKING.threshold) is the concatenation of `chunks`.
 */
export interface PartRef {
  name: string;
  /** Lowercase hex sha256 of the whole part's bytes (the blob's key when unchunked). */
  sha256: string;
  /** Part length in bytes. */
  size: number;
  meta: Record<string, unknown>;
  /** The part's chunks in order; absent when the part is stored whole. */
  chunks?: ChunkRef[];
}

/** The manifest as stored: its canonical msgpack bytes hash to the snapshot id. */
export interface ManifestBody {
  /** Manifest format version: 2 is written; 1 (no chunks) is still read. */
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
  /** Total logical bytes of all parts. */
  bytes: number;
  /** Uncompressed bytes of the blobs (whole parts or chunks) not in the store before; dedup saves the rest. */
  newBytes: number;
  /** Bytes actually written for those new blobs: their stored values after compression. */
  storedBytes: number;
  /** Number of new blobs written. */
  newBlobs: number;
  /** Blobs (sha256) that were stored damaged and rewritten whole by this write. */
  repairedBlobs: string[];
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
  /** Stored (compressed) bytes of the removed blobs. */
  freedBytes: number;
  keptBlobs: number;
}

/** Result of `importSnapshot`; `imported` is false when the snapshot was already there. */
export interface ImportResult extends PutResult {
  imported: boolean;
}
