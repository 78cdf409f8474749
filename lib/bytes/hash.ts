import { createHash } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';

/** CRC-32 (zlib's polynomial), as the IGVM checksum and cpio use it. */
export function crc32(data: Uint8Array, initial = 0): number {
  return zlibCrc32(data, initial);
}

/** SHA-256 of one or more byte views, as lowercase hex. */
export function sha256Hex(...parts: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** SHA-256 of one or more byte views, as bytes. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** Lowercase hex of bytes. */
export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
