/**
 * Key layout of the store's sublevels (all keys are bytes):
 * - manifests: utf8(id hex) → canonical manifest bytes (hash to the id)
 * - blobs:     utf8(sha256 hex of the uncompressed bytes) → encoding byte ‖ payload (blob.ts);
 *              a blob is a whole part or one chunk of a large part (chunks.ts)
 * - names:     utf8(name) ‖ 0x00 ‖ u32be(seq) → utf8(id hex); big-endian so a name's entries
 *              iterate in seq order and "latest" is the last one
 * - runs:      utf8(run id) → canonical msgpack record, kept by properties/records.ts
 * - meta:      utf8('format') → canonical msgpack `{ format }`;
 *              utf8('seq/' + name) → u32be highest seq ever given to the name
 */

const enc = new TextEncoder();
const dec = new TextDecoder();

/** UTF-8 bytes of a key string. */
export function keyOf(s: string): Uint8Array {
  return enc.encode(s);
}

/** The string of a UTF-8 key or value. */
export function textOf(b: Uint8Array): string {
  return dec.decode(b);
}

/** Name-index key of `name@seq`. */
export function nameKey(name: string, seq: number): Uint8Array {
  // setUint32 would silently wrap 2^32 + 1 to 1 and alias another snapshot's entry.
  if (!Number.isInteger(seq) || seq < 0 || seq > 0xffff_ffff) throw new TypeError(`nameKey: seq ${seq} is not a u32`);
  const n = enc.encode(name);
  const k = new Uint8Array(n.length + 5);
  k.set(n);
  new DataView(k.buffer).setUint32(n.length + 1, seq, false);
  return k;
}

/** Range bounds covering every seq of `name` in the name index. */
export function nameRange(name: string): { gte: Uint8Array; lt: Uint8Array } {
  const n = enc.encode(name);
  const gte = new Uint8Array(n.length + 1);
  gte.set(n);
  const lt = gte.slice();
  lt[n.length] = 1;
  return { gte, lt };
}

/** Splits a name-index key back into name and seq; null if it is not one. */
export function parseNameKey(k: Uint8Array): { name: string; seq: number } | null {
  const at = k.length - 5;
  if (at < 1 || k[at] !== 0) return null;
  return { name: dec.decode(k.subarray(0, at)), seq: new DataView(k.buffer, k.byteOffset, k.byteLength).getUint32(at + 1, false) };
}

/** Range bounds covering every hex key starting with `prefix` ('g' sorts after every hex digit). */
export function prefixRange(prefix: string): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: enc.encode(prefix), lt: enc.encode(`${prefix}g`) };
}

/** Meta key of a name's highest-ever seq. */
export function seqCounterKey(name: string): Uint8Array {
  return enc.encode(`seq/${name}`);
}

/** A u32 as 4 big-endian bytes. */
export function u32Bytes(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, false);
  return b;
}

/** The big-endian u32 at the start of `b` (0 if shorter). */
export function readU32(b: Uint8Array): number {
  return b.length < 4 ? 0 : new DataView(b.buffer, b.byteOffset, 4).getUint32(0, false);
}
