import { sha256Hex } from '../bytes/index.ts';
import type { ChunkRef, PartRef } from './types.ts';

/**
 * Content-defined chunking of large parts (a FastCDC-style gear hash). A part above
 * CHUNKING.threshold is cut where the rolling hash of its last 32 bytes hits a mask, so an edit
 * moves at most the cuts next to it and every other chunk keeps its bytes, hash and blob across
 * snapshots. The manifest records the cuts, so readers never re-run the chunker: changing these
 * constants changes only how well new snapshots dedup against old ones, never what reads back.
 */
export const CHUNKING = { threshold: 16 * 1024, min: 2 * 1024, avg: 8 * 1024, max: 32 * 1024 } as const;

// 256 fixed pseudo-random words (splitmix32 from a constant seed): the gear table.
const GEAR = (() => {
  const t = new Int32Array(256);
  let s = 0x9e3779b9;
  for (let i = 0; i < 256; i++) {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    t[i] = z ^ (z >>> 16);
  }
  return t;
})();

// Normalized chunking: a harder mask (one bit more than avg) before avg, an easier one after,
// which narrows the size spread around avg. Top bits: with `h << 1` they depend on 32 bytes.
const AVG_BITS = Math.log2(CHUNKING.avg);
const MASK_HARD = ~0 << (32 - (AVG_BITS + 1));
const MASK_EASY = ~0 << (32 - (AVG_BITS - 1));

/** End offset of the chunk that starts at `start`. */
function cut(b: Uint8Array, start: number): number {
  const end = b.length;
  if (end - start <= CHUNKING.min) return end;
  const normal = Math.min(start + CHUNKING.avg, end);
  const limit = Math.min(start + CHUNKING.max, end);
  let h = 0;
  let best = limit - 1;
  let bestHash = -1;
  let i = start + CHUNKING.min;
  for (; i < normal; i++) {
    h = ((h << 1) + (GEAR[b[i] as number] as number)) | 0;
    if ((h & MASK_HARD) === 0) return i + 1;
  }
  for (; i < limit; i++) {
    h = ((h << 1) + (GEAR[b[i] as number] as number)) | 0;
    if ((h & MASK_EASY) === 0) return i + 1;
    if (h >>> 0 > bestHash) [best, bestHash] = [i, h >>> 0];
  }
  // No mask hit (repetitive data such as msgpack arrays of like records): cut after the first
  // largest hash past avg, still a property of the content rather than of the offset, so an
  // insertion does not shift every later cut; the part's end is always a cut.
  return limit === end ? end : best + 1;
}

/** Chunk end offsets of `bytes` (deterministic; the last is `bytes.length`). */
export function chunkEnds(bytes: Uint8Array): number[] {
  const ends: number[] = [];
  for (let at = 0; at < bytes.length; ) ends.push((at = cut(bytes, at)));
  return ends;
}

/** A piece of a part as stored: one content-addressed blob. */
export interface Piece extends ChunkRef {
  bytes: Uint8Array;
}

/**
 * Splits a part into the blobs that store it: the whole part when it is at most
 * CHUNKING.threshold bytes, else its content-defined chunks (returned as `chunks` for the manifest).
 */
export function splitPart(bytes: Uint8Array, sha256: string): { pieces: Piece[]; chunks?: ChunkRef[] } {
  if (bytes.length <= CHUNKING.threshold) return { pieces: [{ sha256, size: bytes.length, bytes }] };
  let at = 0;
  const pieces = chunkEnds(bytes).map((end) => {
    const b = bytes.subarray(at, (at = end));
    return { sha256: sha256Hex(b), size: b.length, bytes: b };
  });
  return { pieces, chunks: pieces.map((p) => ({ sha256: p.sha256, size: p.size })) };
}

/** The blobs a part ref is stored as, in order: its chunks, or the whole part. */
export function piecesOf(ref: PartRef): ChunkRef[] {
  return ref.chunks ?? [{ sha256: ref.sha256, size: ref.size }];
}

/**
 * Cuts whole part bytes along a part ref's recorded chunks and checks each chunk's hash; returns
 * the pieces, or the index of the first chunk whose bytes do not match.
 */
export function piecesOfBytes(ref: PartRef, bytes: Uint8Array): Piece[] | number {
  if (ref.chunks === undefined) return [{ sha256: ref.sha256, size: ref.size, bytes }];
  let at = 0;
  const out: Piece[] = [];
  for (const [i, c] of ref.chunks.entries()) {
    const b = bytes.subarray(at, (at += c.size));
    if (b.length !== c.size || sha256Hex(b) !== c.sha256) return i;
    out.push({ ...c, bytes: b });
  }
  return out;
}

/** Concatenates a part's pieces back into one buffer. */
export function joinPieces(pieces: readonly Uint8Array[], size: number): Uint8Array {
  if (pieces.length === 1) return pieces[0] as Uint8Array;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
