import { FdtBuilder } from './builder.ts';
import type { Fdt } from './types.ts';

/**
 * Encodes a tree as a version 17 DTB laid out as dtc lays it out: 40-byte header, memory
 * reservation block, structure block, strings block, no padding. Deterministic; a tree read by
 * `readFdt` writes back to the same bytes when the blob came from dtc or from this writer.
 * FDT_INVALID_TREE for names no DTB may hold and for duplicates dtc rejects.
 */
export function writeFdt(fdt: Fdt): Uint8Array {
  return new FdtBuilder().node(fdt.root).finish(fdt.bootCpuidPhys, fdt.reservations);
}
