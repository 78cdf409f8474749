import { crc32 } from '../bytes/index.ts';
import { HclError, isHclError } from '../errors.ts';
import { align8, encodeBody, layoutOf } from './layout.ts';
import { readIgvm, type ReadOptions } from './reader.ts';
import { IGVM_MAGIC, PAGE_SIZE_4K, PlatformType, type IgvmFileInput, type IgvmHeader } from './types.ts';

/** Writer options. */
export interface WriteOptions {
  /**
   * Skip the read-back check and write whatever the headers say (tests and fault injection use
   * this to craft files the crate rejects). Default false.
   */
  unchecked: boolean;
  /** The igvm crate version the read-back check follows (see ReadOptions); default '0.4.0'. */
  crate: NonNullable<ReadOptions['crate']>;
}

const U32_MAX = 0xffffffff;
const SECTION_RANK = (h: IgvmHeader): number => {
  const t = layoutOf(h.kind).type;
  return t <= 0x100 ? 0 : t <= 0x200 ? 1 : 2;
};

function pad(data: Uint8Array, size: number): Uint8Array {
  if (data.length === size) return data;
  const out = new Uint8Array(size);
  out.set(data);
  return out;
}

/** The crate's file-data serializer: appends blobs, handing a repeat the first copy's offset. */
class FileData {
  readonly #seen = new Map<string, number>();
  readonly #parts: Uint8Array[] = [];
  #next: number;
  constructor(start: number) { this.#next = start; }

  store(blob: Uint8Array): number {
    const key = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength).toString('latin1');
    const seen = this.#seen.get(key);
    if (seen !== undefined) return seen;
    const at = this.#next;
    if (at > U32_MAX) throw new HclError('IGVM_FILE_DATA_SECTION_TOO_LARGE', `igvm writer: file data offset ${at} does not fit in u32`);
    this.#parts.push(blob);
    this.#next += blob.length;
    this.#seen.set(key, at);
    return at;
  }

  get parts(): readonly Uint8Array[] { return this.#parts; }
  get end(): number { return this.#next; }
}

function invalid(msg: string): never {
  throw new HclError('IGVM_WRITE_INVALID', `igvm writer: ${msg}`);
}

/** Stores a header's data as the crate does and returns the body fields that point at it. */
function storeData(h: IgvmHeader, files: FileData, platforms: ReadonlyMap<number, number>): Record<string, number> {
  switch (h.kind) {
    case 'PAGE_DATA':
      if (h.data.length > PAGE_SIZE_4K) invalid(`page data for gpa 0x${h.gpa.toString(16)} is ${h.data.length} bytes, more than 4096`);
      return { fileOffset: h.data.length === 0 ? 0 : files.store(pad(h.data, PAGE_SIZE_4K)) };
    case 'PARAMETER_AREA': {
      if (BigInt(h.initialData.length) > h.numberOfBytes) invalid(`parameter area ${h.parameterAreaIndex} initial data is longer than its ${h.numberOfBytes} bytes`);
      if (h.initialData.length === 0) return { fileOffset: 0 };
      if (h.numberOfBytes > BigInt(U32_MAX)) throw new HclError('IGVM_FILE_DATA_SECTION_TOO_LARGE', `igvm writer: parameter area ${h.parameterAreaIndex} of ${h.numberOfBytes} bytes`);
      return { fileOffset: files.store(pad(h.initialData, Number(h.numberOfBytes))) };
    }
    case 'VP_CONTEXT': {
      const platform = platforms.get(h.compatibilityMask);
      if (platform === PlatformType.VSM_ISOLATION || platform === undefined) {
        return { fileOffset: h.data.length === 0 ? 0 : files.store(h.data) };
      }
      if (h.data.length > PAGE_SIZE_4K) invalid(`vp context data is ${h.data.length} bytes, more than 4096`);
      return { fileOffset: files.store(pad(h.data, PAGE_SIZE_4K)) };
    }
    case 'CORIM_DOCUMENT':
    case 'CORIM_SIGNATURE':
      return { fileOffset: files.store(h.data), sizeBytes: h.data.length };
    default:
      return {};
  }
}

/** Recomputes and stores the CRC-32 checksum of an IGVM file in place; returns the value. */
export function fixChecksum(bytes: Uint8Array): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fixedSize = v.getUint32(4, true) === 2 ? 32 : 24;
  const end = v.getUint32(8, true) + v.getUint32(12, true);
  v.setUint32(20, 0, true);
  const sum = crc32(bytes.subarray(v.getUint32(8, true), end), crc32(bytes.subarray(0, fixedSize))) >>> 0;
  v.setUint32(20, sum, true);
  return sum;
}

/**
 * Serializes headers exactly as the igvm crate 0.4 writer does: sections in order, 8-aligned
 * headers, file data appended in header order with identical (padded) blobs stored once, and the
 * CRC-32 over fixed and variable headers. Refuses (IGVM_WRITE_INVALID) a file the crate could not
 * read back, unless `unchecked`.
 */
export function writeIgvm(file: IgvmFileInput, options: Partial<WriteOptions> = {}): Uint8Array {
  const headers = file.headers.map((h, i) => ({ h, i, rank: SECTION_RANK(h) }))
    .sort((a, b) => a.rank - b.rank || a.i - b.i).map((x) => x.h);
  const fixedSize = file.revision.version === 1 ? 24 : 32;
  const vsize = headers.reduce((n, h) => n + 8 + align8(layoutOf(h.kind).size), 0);
  if (vsize > U32_MAX) throw new HclError('IGVM_VARIABLE_HEADER_SECTION_TOO_LARGE', `igvm writer: ${vsize} bytes of variable headers`);
  const platforms = new Map<number, number>();
  for (const h of headers) if (h.kind === 'SUPPORTED_PLATFORM') platforms.set(h.compatibilityMask, h.platformType);

  const files = new FileData(fixedSize + vsize);
  const vh = new Uint8Array(vsize);
  const vv = new DataView(vh.buffer);
  let pos = 0;
  for (const h of headers) {
    const layout = layoutOf(h.kind);
    const body = encodeBody(layout, h, storeData(h, files, platforms));
    vv.setUint32(pos, layout.type, true);
    vv.setUint32(pos + 4, layout.size, true);
    vh.set(body, pos + 8);
    pos += 8 + align8(layout.size);
  }
  if (files.end > U32_MAX) throw new HclError('IGVM_TOTAL_FILE_SIZE_TOO_LARGE', `igvm writer: file would be ${files.end} bytes`);
  const out = new Uint8Array(files.end);
  const v = new DataView(out.buffer);
  v.setUint32(0, IGVM_MAGIC, true);
  v.setUint32(4, file.revision.version, true);
  v.setUint32(8, fixedSize, true);
  v.setUint32(12, vsize, true);
  v.setUint32(16, out.length, true);
  if (file.revision.version === 2) {
    v.setUint32(24, file.revision.arch === 'x64' ? 0 : 1, true);
    v.setUint32(28, PAGE_SIZE_4K, true);
  }
  out.set(vh, fixedSize);
  let at = fixedSize + vsize;
  for (const p of files.parts) { out.set(p, at); at += p.length; }
  fixChecksum(out);
  if (options.unchecked !== true) {
    try {
      readIgvm(out, options.crate === undefined ? {} : { crate: options.crate });
    } catch (e) {
      if (!isHclError(e)) throw e;
      throw new HclError('IGVM_WRITE_INVALID', `igvm writer: the crate could not read this file back: ${e.code}: ${e.message}`, {
        cause: e, context: { innerCode: e.code, ...(e.context ?? {}) },
      });
    }
  }
  return out;
}
