// Snapshot store (DESIGN.md §4): content-addressed blobs and manifests on abstract-level.

// store
export { SnapshotStore, openStore, STORE_FORMAT } from './store.ts';
export { CHUNKING, piecesOf, splitPart } from './chunks.ts';
export { BLOB_RAW, BLOB_DEFLATE } from './blob.ts';
export type { OpenOptions, MissingSnapshot } from './store.ts';
export { storeDir, DEFAULT_STORE_DIR } from './backend.ts';
export type { StoreDb } from './backend.ts';
export type { StoreSeams, Sub } from './sublevels.ts';
export { repairStore } from './repair.ts';
export type { RepairReport } from './repair.ts';
export { MARKER_FILE } from './identity.ts';
export { JOURNAL_FILE } from './journal.ts';
export { keyOf, textOf } from './keys.ts';

// manifests
export { MANIFEST_FORMAT, MANIFEST_FORMATS_READ, NAME_PATTERN, ID_PATTERN, MAX_SEQ, DEFAULT_MAX_SNAPSHOT_BYTES, manifestBytes } from './manifest.ts';
export type {
  Manifest,
  ManifestBody,
  PartInput,
  PartRef,
  ChunkRef,
  PutSnapshotInput,
  PutResult,
  Snapshot,
  VerifyProblem,
  VerifyReport,
  GcReport,
  ImportResult,
} from './types.ts';

// .hclsnap archives
export { readArchive, parseArchive, encodeArchive, writeArchive, ARCHIVE_MAGIC, ARCHIVE_VERSION } from './archive.ts';
export type { ArchiveContents } from './archive.ts';
