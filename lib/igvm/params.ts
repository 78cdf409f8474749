import { HclError } from '../errors.ts';
import { headerMask, type IgvmFileInput, type IgvmHeader } from './types.ts';
import { platformName } from './validate.ts';

/**
 * The compatibility mask of the file's platform of the given type (a loader picks one platform
 * and applies the headers whose mask has its bit). IGVM_NO_PLATFORM_FOR_ISOLATION if absent.
 */
export function selectPlatform(file: IgvmFileInput, platformType: number): number {
  for (const h of file.headers) if (h.kind === 'SUPPORTED_PLATFORM' && h.platformType === platformType) return h.compatibilityMask;
  throw new HclError('IGVM_NO_PLATFORM_FOR_ISOLATION', `igvm file: no ${platformName(platformType)} platform header`);
}

/** The non-platform headers that apply to `mask`, in file order (mask-less kinds apply to all). */
export function headersFor(file: IgvmFileInput, mask: number): IgvmHeader[] {
  return file.headers.filter((h) => {
    if (h.kind === 'SUPPORTED_PLATFORM') return false;
    const m = headerMask(h);
    return m === undefined || (m & mask) !== 0;
  });
}

/**
 * Parameter areas as a loader sees them: declared once (PARAMETER_AREA), written by parameter
 * headers at their byte offset, inserted once (PARAMETER_INSERT), after which the index is dead.
 */
export class ParameterAreas {
  readonly #areas = new Map<number, Uint8Array | 'inserted'>();

  /** Declares area `index` of `size` bytes starting as `initial` (zero-padded). */
  declare(index: number, size: number, initial: Uint8Array = new Uint8Array(0)): void {
    if (this.#areas.has(index)) throw new HclError('IGVM_INVALID_PARAMETER_AREA_INDEX', `parameter area ${index}: declared twice`);
    if (initial.length > size) throw new HclError('IGVM_PARAMETER_DOES_NOT_FIT', `parameter area ${index}: initial data of ${initial.length} bytes exceeds ${size}`);
    const area = new Uint8Array(size);
    area.set(initial);
    this.#areas.set(index, area);
  }

  #live(index: number): Uint8Array {
    const a = this.#areas.get(index);
    if (a === undefined) throw new HclError('IGVM_INVALID_PARAMETER_AREA_INDEX', `parameter area ${index}: not declared`);
    if (a === 'inserted') throw new HclError('IGVM_PARAMETER_AREA_INSERTED', `parameter area ${index}: already inserted into guest memory`);
    return a;
  }

  /** Writes `bytes` at `byteOffset` into a live area; IGVM_PARAMETER_DOES_NOT_FIT past its end. */
  write(index: number, byteOffset: number, bytes: Uint8Array): void {
    const a = this.#live(index);
    if (byteOffset + bytes.length > a.length) {
      throw new HclError('IGVM_PARAMETER_DOES_NOT_FIT', `parameter area ${index}: ${bytes.length} bytes at offset ${byteOffset} do not fit in ${a.length}`, {
        context: { index, byteOffset, length: bytes.length, size: a.length },
      });
    }
    a.set(bytes, byteOffset);
  }

  /** Returns the area's bytes for insertion; the index is dead afterwards. */
  insert(index: number): Uint8Array {
    const a = this.#live(index);
    this.#areas.set(index, 'inserted');
    return a;
  }

  /** Size of a declared, live area. */
  size(index: number): number {
    return this.#live(index).length;
  }
}

/** One IGVM_VHS_MEMORY_MAP_ENTRY (24 bytes). */
export interface MemoryMapEntry {
  /** @0 u64. */ startingGpaPageNumber: bigint;
  /** @8 u64: 0 ends the map. */ numberOfPages: bigint;
  /** @16 u16: MemoryMapEntryType. */ entryType: number;
  /** @18 u16. */ flags: number;
}

/** Encodes a memory map sorted by starting page (the area's zero bytes terminate it). */
export function encodeMemoryMap(entries: readonly MemoryMapEntry[]): Uint8Array {
  const sorted = [...entries].sort((a, b) => (a.startingGpaPageNumber < b.startingGpaPageNumber ? -1 : a.startingGpaPageNumber > b.startingGpaPageNumber ? 1 : 0));
  const out = new Uint8Array(24 * sorted.length);
  const v = new DataView(out.buffer);
  sorted.forEach((e, i) => {
    v.setBigUint64(24 * i, e.startingGpaPageNumber, true);
    v.setBigUint64(24 * i + 8, e.numberOfPages, true);
    v.setUint16(24 * i + 16, e.entryType, true);
    v.setUint16(24 * i + 18, e.flags, true);
  });
  return out;
}

/** Decodes a memory map up to the first 0-page entry or the end of the bytes. */
export function decodeMemoryMap(bytes: Uint8Array): MemoryMapEntry[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: MemoryMapEntry[] = [];
  for (let at = 0; at + 24 <= bytes.length; at += 24) {
    const numberOfPages = v.getBigUint64(at + 8, true);
    if (numberOfPages === 0n) break;
    out.push({ startingGpaPageNumber: v.getBigUint64(at, true), numberOfPages, entryType: v.getUint16(at + 16, true), flags: v.getUint16(at + 18, true) });
  }
  return out;
}

/** One MMIO range in pages. */
export interface MmioRange { startingGpaPageNumber: bigint; numberOfPages: bigint }

/** Encodes the two 16-byte MMIO ranges (missing ones are zero). */
export function encodeMmioRanges(ranges: readonly MmioRange[]): Uint8Array {
  if (ranges.length > 2) throw new HclError('IGVM_PARAMETER_DOES_NOT_FIT', `mmio ranges: ${ranges.length} given, the parameter holds 2`);
  const out = new Uint8Array(32);
  const v = new DataView(out.buffer);
  ranges.forEach((r, i) => {
    v.setBigUint64(16 * i, r.startingGpaPageNumber, true);
    v.setBigUint64(16 * i + 8, r.numberOfPages, true);
  });
  return out;
}

/** Decodes the two MMIO ranges. */
export function decodeMmioRanges(bytes: Uint8Array): MmioRange[] {
  if (bytes.length < 32) throw new HclError('IGVM_LOAD_INVALID', `mmio ranges: ${bytes.length} bytes, need 32`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, 32);
  return [0, 16].map((at) => ({ startingGpaPageNumber: v.getBigUint64(at, true), numberOfPages: v.getBigUint64(at + 8, true) }));
}

const u32 = (n: number): Uint8Array => {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, true);
  return out;
};

/** VP count parameter: u32. */
export function encodeVpCount(count: number): Uint8Array { return u32(count); }

/** Environment info parameter: u32, bit0 memory_is_shared. */
export function encodeEnvironmentInfo(info: { memoryIsShared: boolean }): Uint8Array { return u32(info.memoryIsShared ? 1 : 0); }

/** Command line parameter: NUL-terminated ASCII (IGVM_LOAD_INVALID for other characters). */
export function encodeCommandLine(cmdline: string): Uint8Array {
  if (!/^[\x01-\x7f]*$/.test(cmdline)) throw new HclError('IGVM_LOAD_INVALID', 'command line: only non-NUL ASCII characters are allowed');
  return new TextEncoder().encode(`${cmdline}\0`);
}

/** Decodes a command line up to its NUL (or the end of the bytes). */
export function decodeCommandLine(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder('latin1').decode(bytes.subarray(0, end < 0 ? bytes.length : end));
}
