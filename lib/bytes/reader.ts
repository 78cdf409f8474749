import { HclError, type HclErrorCode } from '../errors.ts';
import type { Plant } from '../plant.ts';

/**
 * Bounds-checked little-endian reader over a byte view. Every read goes through one check;
 * a read past the end throws an HclError with the reader's error code and context.
 */
export class ByteReader {
  /** Current offset from the start of the view. */
  pos = 0;
  /** Length of the view in bytes. */
  readonly len: number;
  readonly #view: DataView;
  readonly #bytes: Uint8Array;
  readonly #code: HclErrorCode;
  readonly #context: string;
  readonly #plant: Plant | undefined;

  /**
   * @param bytes the data; not copied.
   * @param context what is being decoded, for error messages (e.g. "IGVM header").
   * @param code the error code for reads past the end (e.g. `FDT_TRUNCATED`).
   * @param plant a defect a test plants (lib/plant.ts); never passed in production.
   */
  constructor(bytes: Uint8Array, context = 'data', code: HclErrorCode = 'BYTES_OUT_OF_RANGE', plant?: Plant) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.len = bytes.byteLength;
    this.#code = code;
    this.#context = context;
    this.#plant = plant;
  }

  #need(at: number, n: number): void {
    if (!Number.isInteger(at) || at < 0 || n < 0 || at + n > this.len) {
      if (this.#plant === 'reader-skips-bounds') return;
      throw new HclError(
        this.#code,
        `cannot decode ${this.#context} at 0x${Math.max(0, at).toString(16)}: premature end of data (need ${n} bytes, have ${Math.max(0, this.len - at)})`,
      );
    }
  }

  /** Bytes left after `pos`. */
  get remaining(): number {
    return this.len - this.pos;
  }

  /** Moves to an absolute offset (checked). */
  seek(at: number): this {
    this.#need(at, 0);
    this.pos = at;
    return this;
  }

  /** Skips `n` bytes (checked). */
  skip(n: number): this {
    this.#need(this.pos, n);
    this.pos += n;
    return this;
  }

  /** Advances `pos` to the next multiple of `n` (checked). */
  align(n: number): this {
    const next = Math.ceil(this.pos / n) * n;
    this.#need(this.pos, next - this.pos);
    this.pos = next;
    return this;
  }

  u8(): number { this.#need(this.pos, 1); return this.#view.getUint8(this.pos++); }
  u16(): number { this.#need(this.pos, 2); const v = this.#view.getUint16(this.pos, true); this.pos += 2; return v; }
  u32(): number { this.#need(this.pos, 4); const v = this.#view.getUint32(this.pos, true); this.pos += 4; return v; }
  i64(): bigint { this.#need(this.pos, 8); const v = this.#view.getBigInt64(this.pos, true); this.pos += 8; return v; }
  u64(): bigint { this.#need(this.pos, 8); const v = this.#view.getBigUint64(this.pos, true); this.pos += 8; return v; }
  /** Big-endian u32 (FDT). */
  u32be(): number { this.#need(this.pos, 4); const v = this.#view.getUint32(this.pos, false); this.pos += 4; return v; }
  /** Big-endian u64 (FDT). */
  u64be(): bigint { this.#need(this.pos, 8); const v = this.#view.getBigUint64(this.pos, false); this.pos += 8; return v; }

  /** `n` bytes as a view into the same buffer (no copy). */
  bytes(n: number): Uint8Array {
    this.#need(this.pos, n);
    const v = this.#bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A checked view of `[at, at + n)` that does not move `pos`. */
  slice(at: number, n: number): Uint8Array {
    this.#need(at, n);
    return this.#bytes.subarray(at, at + n);
  }

  /** A new reader over `[at, at + n)` with the same error code and a sub-context. */
  sub(at: number, n: number, context = this.#context): ByteReader {
    return new ByteReader(this.slice(at, n), context, this.#code, this.#plant);
  }

  /** A NUL-terminated string starting at `pos` (ASCII/UTF-8); `pos` moves past the NUL. */
  cstring(): string {
    const end = this.#bytes.indexOf(0, this.pos);
    if (end < 0) this.#need(this.pos, this.len - this.pos + 1);
    const s = new TextDecoder().decode(this.#bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }
}
