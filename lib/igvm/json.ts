import { sha256Hex, toHex } from '../bytes/index.ts';
import { HclError } from '../errors.ts';
import { LAYOUT_BY_KIND, type FieldSpec } from './layout.ts';
import type { IgvmFile, IgvmFileInput, IgvmHeader, IgvmHeaderKind, IgvmRevision } from './types.ts';

/** Marker of hclckpt's IGVM JSON documents. */
export const IGVM_JSON_FORMAT = 'hclckpt-igvm-json/1';

/** A data blob in JSON: where it was in the file, its length and its bytes as hex. */
export interface JsonBlob { fileOffset: number; size: number; hex: string }

/** The JSON form of a file: fixed header, every header with its fields, blobs as hex. */
export interface IgvmJson {
  format: typeof IGVM_JSON_FORMAT;
  revision: IgvmRevision;
  file?: { size: number; sha256: string };
  fixedHeader: IgvmFile['fixedHeader'];
  dataStart: number;
  headers: Array<Record<string, unknown>>;
}

const hex = (v: bigint | number): string => `0x${v.toString(16)}`;

/**
 * The whole file as JSON: u64 fields as 0x strings, byte-array fields as hex, data blobs with
 * their file offsets. `igvmFromJson` of it re-encodes to the same bytes for any crate-written file.
 */
export function igvmToJson(file: IgvmFile, bytes?: Uint8Array): IgvmJson {
  // Headers that name the same file data share one blob object (and its hex string): a file of
  // many headers on one data page then costs one page of hex, not one per header.
  const blobs = new Map<string, JsonBlob>();
  const blobOf = (fileOffset: number, d: Uint8Array): JsonBlob => {
    const key = `${fileOffset}:${d.length}`;
    let blob = fileOffset === 0 ? undefined : blobs.get(key);
    if (blob === undefined) {
      blob = Object.freeze({ fileOffset, size: d.length, hex: toHex(d) });
      if (fileOffset !== 0) blobs.set(key, blob);
    }
    return blob;
  };
  const headers = file.headers.map((h, i) => {
    const layout = LAYOUT_BY_KIND.get(h.kind);
    const src = h as unknown as Record<string, unknown>;
    const out: Record<string, unknown> = { kind: h.kind, type: hex(layout?.type ?? 0), offset: file.headerOffsets[i] ?? 0 };
    for (const f of layout?.fields ?? []) {
      if (f.name === 'fileOffset' || (f.name === 'sizeBytes' && layout?.data !== undefined)) continue;
      const v = src[f.name];
      out[f.name] = typeof v === 'bigint' ? hex(v) : v instanceof Uint8Array ? toHex(v) : v;
    }
    if (layout?.data !== undefined) {
      const d = src[layout.data] as Uint8Array;
      out[layout.data] = blobOf((src['fileOffset'] as number | undefined) ?? 0, d);
    }
    return out;
  });
  return {
    format: IGVM_JSON_FORMAT, revision: file.revision,
    ...(bytes === undefined ? {} : { file: { size: bytes.length, sha256: sha256Hex(bytes) } }),
    fixedHeader: file.fixedHeader, dataStart: file.dataStart, headers,
  };
}

function bad(path: string, msg: string): never {
  throw new HclError('IGVM_JSON_INVALID', `igvm json: ${path}: ${msg}`, { context: { path } });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseHex(v: unknown, path: string, size?: number): Uint8Array {
  if (typeof v !== 'string' || v.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(v)) bad(path, 'expected an even-length hex string');
  const b = new Uint8Array(Buffer.from(v, 'hex'));
  if (size !== undefined && b.length !== size) bad(path, `expected ${size} bytes, got ${b.length}`);
  return b;
}

function parseInt(v: unknown, path: string, bits: number): bigint {
  let n: bigint | undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v)) n = BigInt(v);
  else if (typeof v === 'string' && /^(0x[0-9a-fA-F]+|[0-9]+)$/.test(v)) n = BigInt(v);
  if (n === undefined || n < 0n || n >= 1n << BigInt(bits)) bad(path, `expected a u${bits} (number, decimal or 0x string)`);
  return n;
}

function parseField(f: FieldSpec, v: unknown, path: string): unknown {
  if (typeof f.type === 'number') return parseHex(v, path, f.type);
  if (f.type === 'u64') return parseInt(v, path, 64);
  return Number(parseInt(v, path, f.type === 'u8' ? 8 : f.type === 'u16' ? 16 : 32));
}

function parseRevision(v: unknown): IgvmRevision {
  if (!isObject(v)) bad('revision', 'expected an object');
  if (v['version'] === 1) return { version: 1 };
  if (v['version'] !== 2) bad('revision.version', 'expected 1 or 2');
  const arch = v['arch'];
  if (arch !== 'x64' && arch !== 'aarch64') bad('revision.arch', 'expected "x64" or "aarch64"');
  return { version: 2, arch };
}

/** Parses the JSON form back into writer input; every problem is IGVM_JSON_INVALID with its path. */
export function igvmFromJson(json: unknown): IgvmFileInput {
  if (!isObject(json)) bad('$', 'expected an object');
  const revision = parseRevision(json['revision']);
  const list = json['headers'];
  if (!Array.isArray(list)) bad('headers', 'expected an array');
  const headers = list.map((raw: unknown, i): IgvmHeader => {
    const path = `headers[${i}]`;
    if (!isObject(raw)) bad(path, 'expected an object');
    const layout = LAYOUT_BY_KIND.get(raw['kind'] as IgvmHeaderKind);
    if (layout === undefined) bad(`${path}.kind`, `unknown header kind ${JSON.stringify(raw['kind'])}`);
    const out: Record<string, unknown> = { kind: layout.kind };
    for (const f of layout.fields) {
      if (f.name === 'fileOffset' || (f.name === 'sizeBytes' && layout.data !== undefined)) continue;
      out[f.name] = parseField(f, raw[f.name], `${path}.${f.name}`);
    }
    if (layout.data !== undefined) {
      const blob = raw[layout.data];
      if (!isObject(blob)) bad(`${path}.${layout.data}`, 'expected an object with hex');
      out[layout.data] = parseHex(blob['hex'], `${path}.${layout.data}.hex`);
    }
    return out as unknown as IgvmHeader;
  });
  return { revision, headers };
}
