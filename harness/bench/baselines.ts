import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { sha256Hex } from '../../lib/bytes/index.ts';
import { readFdt, writeFdt, type Fdt } from '../../lib/fdt/index.ts';
import { CHUNKING, splitPart, type PartInput } from '../../lib/store/index.ts';

/**
 * The bench's baselines, over exactly what hclckpt saves:
 * - the persistence floor: sha256 of every part, content-defined chunking of the large ones,
 *   deflate of every piece, one synced LevelDB batch of them, one read back and inflate — what
 *   a content-addressed, compressed, durable store cannot avoid over the same part bytes;
 * - FDT write + parse of the host and kernel device trees a boot writes and parses;
 * - JSON files: every part as its own JSON file (u64 as decimal strings, bytes as base64), what
 *   a `state.json` approach amounts to; json-cycle.ts runs a whole servicing cycle through them.
 */

/** A LevelDB (classic-level) opened in `dir` for the persistence floor. */
export interface RawLevel {
  db: import('classic-level').ClassicLevel<string, Uint8Array>;
  close(): Promise<void>;
}

/** Opens the classic-level database the floor writes to. */
export async function openRawLevel(dir: string): Promise<RawLevel> {
  const { ClassicLevel } = await import('classic-level');
  const db = new ClassicLevel<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  return { db, close: () => db.close() };
}

// The store's deflate settings (lib/store/blob.ts), so the floor compresses the same way.
const DEFLATE = { level: 1, memLevel: 8, strategy: 0, windowBits: 15 } as const;

/**
 * The persistence floor over `parts`, keys under `prefix`: hash, chunk, deflate, one synced
 * batch, read back, inflate. Returns the inflated byte count (equal to the parts' total).
 */
export async function persistFloor(level: RawLevel, parts: readonly PartInput[], prefix: string): Promise<number> {
  const batch = level.db.batch();
  const keys: string[] = [];
  for (const p of parts) {
    const sha = sha256Hex(p.bytes);
    const pieces = p.bytes.length > CHUNKING.threshold ? splitPart(p.bytes, sha).pieces : [{ sha256: sha, bytes: p.bytes }];
    for (const piece of pieces) {
      const key = `${prefix}/${piece.sha256}`;
      keys.push(key);
      batch.put(key, deflateRawSync(piece.bytes, DEFLATE));
    }
  }
  await batch.write({ sync: true });
  let n = 0;
  for (const b of await level.db.getMany(keys)) if (b !== undefined) n += inflateRawSync(b).length;
  return n;
}

/** FDT write + parse of every tree; returns the DTB byte count. */
export function fdtRoundTrip(trees: readonly Fdt[]): number {
  let n = 0;
  for (const t of trees) {
    const b = writeFdt(t);
    n += b.length;
    readFdt(b);
  }
  return n;
}

// Tagged objects, so reading back gives the same bigint and byte values (a string never is one).
function replacer(this: Record<string, unknown>, key: string, v: unknown): unknown {
  const raw = this[key];
  if (typeof raw === 'bigint') return { $u64: raw.toString() };
  if (raw instanceof Uint8Array) return { $b64: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') };
  return v;
}

function reviver(_key: string, v: unknown): unknown {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
  const o = v as Record<string, unknown>;
  if (typeof o['$u64'] === 'string') return BigInt(o['$u64']);
  if (typeof o['$b64'] === 'string') return new Uint8Array(Buffer.from(o['$b64'], 'base64'));
  return v;
}

const fileOf = (name: string): string => `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.json`;

/** Writes every named value as its own JSON file in `dir`; returns the bytes written. */
export async function writeJsonParts(dir: string, values: ReadonlyArray<{ name: string; value: unknown }>): Promise<number> {
  await mkdir(dir, { recursive: true });
  let written = 0;
  for (const { name, value } of values) {
    const text = JSON.stringify(value, replacer);
    await writeFile(join(dir, fileOf(name)), text);
    written += Buffer.byteLength(text);
  }
  return written;
}

/** Reads back the JSON files `writeJsonParts` wrote, by name. */
export async function readJsonParts(dir: string, names: readonly string[]): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  for (const name of names) out.set(name, JSON.parse(await readFile(join(dir, fileOf(name)), 'utf8'), reviver));
  return out;
}
