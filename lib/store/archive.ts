import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { ByteReader, ByteWriter, sha256, sha256Hex, toHex } from '../bytes/index.ts';
import { HclError } from '../errors.ts';
import { piecesOfBytes, type Piece } from './chunks.ts';
import { DEFAULT_MAX_SNAPSHOT_BYTES, checkLogicalSize, decodeManifest } from './manifest.ts';
import type { Manifest } from './types.ts';

/**
 * `.hclsnap`: one snapshot in one self-describing file. All integers little-endian.
 *
 * | offset | size | field                                                         |
 * |--------|------|---------------------------------------------------------------|
 * | 0      | 8    | magic `HCLSNAP\0`                                             |
 * | 8      | 4    | u32 archive format version (1)                                |
 * | 12     | 32   | snapshot id (sha256 of the manifest bytes)                    |
 * | 44     | 4    | u32 manifest length M                                         |
 * | 48     | M    | manifest: canonical msgpack, exactly the bytes the store keeps |
 * | 48+M   | 4    | u32 blob count N                                              |
 * | …      |      | N × { 32 sha256, u64 length L, L bytes }, in manifest part order, each blob once |
 * | end-32 | 32   | sha256 over every byte before it                              |
 *
 * Blobs are whole parts, uncompressed, even when the store keeps a part as chunks: the layout is
 * the same for manifest formats 1 and 2, so the version stays 1. A format-2 manifest lists each
 * chunked part's chunks; import cuts the part along them (checking every chunk hash) to store it.
 */
export const ARCHIVE_MAGIC = new Uint8Array([0x48, 0x43, 0x4c, 0x53, 0x4e, 0x41, 0x50, 0x00]);
/** Archive format version written and accepted. */
export const ARCHIVE_VERSION = 1;
const HEADER = 48;
const TRAILER = 32;

/** A snapshot read from an archive and fully verified. */
export interface ArchiveContents {
  manifest: Manifest;
  /** Exact stored manifest bytes (they hash to `manifest.id`). */
  manifestBytes: Uint8Array;
  /** Part bytes by part name. */
  parts: Map<string, Uint8Array>;
  /** Blob bytes by sha256 hex (parts with equal bytes share one). */
  blobs: Map<string, Uint8Array>;
  /** What a store keeps: whole-part blobs and the chunks of chunked parts, by sha256, each checked. */
  pieces: Map<string, Uint8Array>;
}

/** Builds the `.hclsnap` bytes for a verified snapshot. */
export function encodeArchive(manifest: Manifest, manifestBytes: Uint8Array, parts: Map<string, Uint8Array>): Uint8Array {
  const order = [...new Map(manifest.parts.map((p) => [p.sha256, p.name])).entries()];
  // Sized exactly: ByteWriter.bytes() loses data when it has to grow mid-call (reported).
  const size = HEADER + manifestBytes.length + 4 + order.reduce((n, [, name]) => n + 40 + (parts.get(name)?.length ?? 0), 0);
  const w = new ByteWriter(size);
  w.bytes(ARCHIVE_MAGIC).u32(ARCHIVE_VERSION).bytes(Buffer.from(manifest.id, 'hex'));
  w.u32(manifestBytes.length).bytes(manifestBytes);
  w.u32(order.length);
  for (const [sha, name] of order) {
    const b = parts.get(name);
    if (b === undefined) throw new TypeError(`archive: part ${name} has no bytes`);
    w.bytes(Buffer.from(sha, 'hex')).u64(BigInt(b.length)).bytes(b);
  }
  const body = w.finish();
  const out = new Uint8Array(body.length + TRAILER);
  out.set(body);
  out.set(sha256(body), body.length);
  return out;
}

/**
 * Parses and verifies archive bytes: magic and version (ARCHIVE_INVALID), whole-file checksum,
 * manifest hash and fields, every blob hash (ARCHIVE_CORRUPT), structure (ARCHIVE_INVALID), and
 * the logical size the manifest declares against `limit` (SNAPSHOT_TOO_LARGE) before any blob is
 * read. Messages start with `file`.
 */
export function parseArchive(bytes: Uint8Array, file: string, limit = DEFAULT_MAX_SNAPSHOT_BYTES): ArchiveContents {
  const invalid = (what: string): never => { throw new HclError('ARCHIVE_INVALID', `${file}: ${what}`); };
  const corrupt = (what: string): never => { throw new HclError('ARCHIVE_CORRUPT', `${file}: ${what}`); };
  if (bytes.length < ARCHIVE_MAGIC.length || !ARCHIVE_MAGIC.every((b, i) => bytes[i] === b)) invalid('not an .hclsnap archive (bad magic)');
  if (bytes.length < HEADER + 4 + TRAILER) corrupt(`truncated: ${bytes.length} bytes is shorter than any archive`);
  const r = new ByteReader(bytes.subarray(0, bytes.length - TRAILER), `${file}: archive`, 'ARCHIVE_INVALID');
  r.skip(ARCHIVE_MAGIC.length);
  const version = r.u32();
  if (version !== ARCHIVE_VERSION) invalid(`archive format version ${version} is not supported (expected ${ARCHIVE_VERSION})`);
  const want = toHex(bytes.subarray(bytes.length - TRAILER));
  if (sha256Hex(bytes.subarray(0, bytes.length - TRAILER)) !== want) corrupt('checksum mismatch: the file is truncated or damaged');

  const id = toHex(r.bytes(32));
  const manifestBytes = r.bytes(r.u32()).slice();
  const manifest = decodeManifest(manifestBytes, id, `${file}: snapshot ${id.slice(0, 12)}`, 'ARCHIVE_CORRUPT');
  checkLogicalSize(manifest, limit, file);
  const blobs = new Map<string, Uint8Array>();
  for (let n = r.u32(), i = 0; i < n; i++) {
    const sha = toHex(r.bytes(32));
    const len = r.u64();
    if (len > BigInt(r.remaining)) invalid(`blob ${sha.slice(0, 12)} claims ${len} bytes, ${r.remaining} remain`);
    const b = r.bytes(Number(len)).slice();
    if (sha256Hex(b) !== sha) corrupt(`snapshot ${id.slice(0, 12)}: blob ${sha.slice(0, 12)} does not match its sha256`);
    blobs.set(sha, b);
  }
  if (r.remaining !== 0) invalid(`${r.remaining} unexpected bytes after the blobs`);
  const parts = new Map<string, Uint8Array>();
  for (const p of manifest.parts) {
    const b = blobs.get(p.sha256);
    if (b === undefined) invalid(`snapshot ${id.slice(0, 12)} part ${p.name}: blob ${p.sha256.slice(0, 12)} is missing`);
    else if (b.length !== p.size) invalid(`snapshot ${id.slice(0, 12)} part ${p.name}: blob is ${b.length} bytes, manifest says ${p.size}`);
    else parts.set(p.name, b);
  }
  const pieces = new Map<string, Uint8Array>();
  for (const p of manifest.parts) {
    const got: Piece[] | number = piecesOfBytes(p, parts.get(p.name) as Uint8Array);
    if (typeof got === 'number') corrupt(`snapshot ${id.slice(0, 12)} part ${p.name}: chunk ${got} does not match its sha256`);
    else for (const c of got) pieces.set(c.sha256, c.bytes);
  }
  if (blobs.size !== new Set(manifest.parts.map((p) => p.sha256)).size) invalid('archive holds blobs no part refers to');
  return { manifest, manifestBytes, parts, blobs, pieces };
}

/** Bytes an archive may hold beyond its parts: header, manifest, blob records, trailer. */
const ARCHIVE_OVERHEAD = 16 * 1024 * 1024;

/**
 * Reads and verifies an `.hclsnap` file without a store (FILE_NOT_FOUND / FILE_IO /
 * FILE_NOT_REGULAR / FILE_TOO_LARGE / ARCHIVE_* / SNAPSHOT_TOO_LARGE). Only a regular file is
 * read, never through a symlink, and never more than `limit` plus the archive's own overhead:
 * the size is checked on the opened file before reading, and a file that grows is refused.
 */
export async function readArchive(file: string, limit = DEFAULT_MAX_SNAPSHOT_BYTES): Promise<ArchiveContents> {
  const fail = (e: unknown): never => {
    const errno = (e as NodeJS.ErrnoException).code;
    if (errno === 'ELOOP') throw new HclError('FILE_NOT_REGULAR', `${file}: is a symlink; give the archive itself`, { cause: e });
    throw new HclError(errno === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_IO', `${file}: cannot read archive: ${(e as Error).message}`, { cause: e });
  };
  const fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(fail);
  try {
    const st = await fh.stat().catch(fail);
    if (!st.isFile()) throw new HclError('FILE_NOT_REGULAR', `${file}: not a regular file`);
    const cap = limit + ARCHIVE_OVERHEAD;
    if (st.size > cap) throw new HclError('FILE_TOO_LARGE', `${file}: ${st.size} bytes, more than an archive of at most ${limit} snapshot bytes can hold (--max-snapshot-bytes raises it)`, { context: { limit: cap } });
    const bytes = new Uint8Array(st.size);
    let at = 0;
    while (at < bytes.length) {
      const { bytesRead } = await fh.read(bytes, at, bytes.length - at, at).catch(fail);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    const { bytesRead: extra } = await fh.read(new Uint8Array(1), 0, 1, at).catch(fail);
    if (at !== bytes.length || extra !== 0) throw new HclError('FILE_IO', `${file}: changed size while it was read`);
    return parseArchive(bytes, file, limit);
  } finally {
    await fh.close();
  }
}

/** Writes archive bytes through a temporary file and a rename, so `file` is never half-written. */
export async function writeArchive(file: string, bytes: Uint8Array): Promise<void> {
  // A fresh unpredictable name, created exclusively: nothing planted there can be written through.
  const tmp = `${file}.tmp-${randomBytes(6).toString('hex')}`;
  let created = false;
  try {
    const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    created = true;
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (e) {
    if (created) await rm(tmp, { force: true });
    throw new HclError('FILE_IO', `${file}: cannot write archive: ${(e as Error).message}`, { cause: e });
  }
}
