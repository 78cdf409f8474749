import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { sha256Hex } from '../bytes/index.ts';

/**
 * Stored blob values (store format 2): one encoding byte, then the payload. The blob's key and
 * every hash stay over the uncompressed bytes, so compression never changes a content address.
 *
 * | byte 0 | payload                                        |
 * |--------|------------------------------------------------|
 * | 0x00   | the bytes as they are                          |
 * | 0x01   | raw deflate (RFC 1951) of the bytes            |
 */
export const BLOB_RAW = 0x00;
/** Encoding byte of a deflated blob. */
export const BLOB_DEFLATE = 0x01;

// Fixed settings so one zlib build always writes the same bytes for the same input. Level 1:
// msgpack's repeated key names compress within ~8 % of level 6 at a third of the time (measured
// on a 2048-VP snapshot: 141 vs 130 KB, 17 vs 55 ms), and save time is a bench goal too.
const DEFLATE = { level: 1, memLevel: 8, strategy: 0, windowBits: 15 } as const;

/** The stored value of `bytes`: deflated when that is smaller, else raw. */
export function encodeBlob(bytes: Uint8Array): Uint8Array {
  if (bytes.length >= 64) {
    const z = deflateRawSync(bytes, DEFLATE);
    if (z.length < bytes.length) {
      const out = new Uint8Array(z.length + 1);
      out[0] = BLOB_DEFLATE;
      out.set(z, 1);
      return out;
    }
  }
  const out = new Uint8Array(bytes.length + 1);
  out[0] = BLOB_RAW;
  out.set(bytes, 1);
  return out;
}

/**
 * The bytes of a stored value that must be `size` bytes hashing to `sha256`, or a problem text.
 * Inflation stops at `size` bytes, so a damaged or hostile stream cannot allocate past it.
 */
export function decodeBlob(stored: Uint8Array, sha256: string, size: number): Uint8Array | string {
  let bytes: Uint8Array;
  const payload = stored.subarray(1);
  if (stored[0] === BLOB_RAW) bytes = payload;
  else if (stored[0] === BLOB_DEFLATE) {
    try {
      bytes = inflateRawSync(payload, { maxOutputLength: Math.max(1, size) });
    } catch (e) {
      return `blob ${sha256.slice(0, 12)} does not inflate to its ${size} bytes (${(e as { code?: string }).code ?? 'damaged deflate stream'})`;
    }
  } else {
    return stored.length === 0 ? `blob ${sha256.slice(0, 12)} is empty (no encoding byte)` : `blob ${sha256.slice(0, 12)} has unknown encoding byte 0x${(stored[0] as number).toString(16)}`;
  }
  if (sha256Hex(bytes) !== sha256) return `blob bytes do not match sha256 ${sha256.slice(0, 12)}`;
  if (bytes.length !== size) return `blob is ${bytes.length} bytes, manifest says ${size}`;
  return bytes;
}
