// Snapshot diff, schema compatibility check and renderers (DESIGN.md §2 lib/diff).

// decoded snapshots
export type { Change, ChangeKind, SnapshotDiff, UpgradeNote } from './types.ts';
// Decoding is lib/snapshot's; re-exported because every diff starts from a decoded snapshot.
export { decodeSnapshot } from '../snapshot/index.ts';
export type { DecodedSnapshot, DecodedUnit, DecodedManifest, SnapshotParts } from '../snapshot/index.ts';

// structural diff
export { diffValues, sameValues, byteRanges, joinKey, joinIndex, BYTE_RANGE_GAP } from './values.ts';
export { diffSnapshots, alignSnapshots, isEmptyDiff, viewSnapshot } from './snapshot.ts';

// rendering
export { canonicalJson, toCanonicalJsonValue } from './canonical-json.ts';
export { renderText, renderUnified, renderSchemaReport, diffToJson, snapshotJson, formatValue, changePath } from './render.ts';
export type { JsonChange } from './render.ts';
export { withHexFields, hexOf, isHexField } from './hex.ts';

// schema compatibility
export { checkSchemaCompat, parseSchemaDump } from './schema-check.ts';
export type { SchemaReport, SchemaFinding, ReachDumpUnit } from './schema-check.ts';
export { schemaDumpWithReach } from './schema-dump.ts';
export { compareNodes, typeLabel } from './schema-nodes.ts';
export type { SchemaChangeKind, Direction } from './schema-nodes.ts';
