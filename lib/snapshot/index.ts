// A VM snapshot as store parts: their names and encode (parts.ts), their decode (decode.ts), and
// the registry of units a snapshot may hold (registry.ts). The one owner of part names.

// parts
export { PART, encodeParts, legacyInitPart, snapshotInfo } from './parts.ts';
export type { SnapshotInfo } from './parts.ts';

// decode
export { decodeSnapshot, decodeParts } from './decode.ts';
export type { DecodedSnapshot, DecodedUnit, DecodedManifest, DecodedParts, SnapshotParts } from './decode.ts';

// registry, and the unit set a restore starts from
export { defaultRegistry } from './registry.ts';
export { currentUnitSet } from './current.ts';
