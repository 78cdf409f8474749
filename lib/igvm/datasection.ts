import { headerError } from './checks.ts';

const hex = (v: number): string => `0x${v.toString(16)}`;

/** What a header parser sees of the file: the data section and where it starts. */
export interface DataSection {
  bytes: Uint8Array;
  /** Absolute offset of the data section. */
  start: number;
}

/**
 * The data slice `[fileOffset, fileOffset + size)`, checked to lie inside the data section;
 * offset 0 means no data. An offset before the section is InvalidDataSize (the crate's u32
 * subtraction would wrap). The slice is a view of the file, not a copy: headers that point at
 * the same data share it, so a file with many headers on one page stays small once decoded.
 */
export function extractData(data: DataSection, fileOffset: number, size: number | bigint): Uint8Array {
  if (fileOffset === 0) return new Uint8Array(0);
  const start = fileOffset - data.start;
  const end = BigInt(start) + BigInt(size);
  if (start < 0 || end > BigInt(data.bytes.length)) {
    headerError('IGVM_INVALID_DATA_SIZE', `file data [${hex(fileOffset)}, +${size.toString()}) is outside the data section [${hex(data.start)}, ${hex(data.start + data.bytes.length)})`);
  }
  return data.bytes.subarray(start, Number(end));
}
