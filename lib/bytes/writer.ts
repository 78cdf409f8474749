/**
 * Growable little-endian writer. Methods chain (`w.u32(1).u64(2n)`); `finish()` returns a copy of
 * exactly the bytes written. Out-of-range values are programming mistakes and throw TypeError.
 */
export class ByteWriter {
  #buf: Uint8Array;
  #view: DataView;
  /** Bytes written so far. */
  pos = 0;

  constructor(initial = 256) {
    this.#buf = new Uint8Array(Math.max(16, initial));
    this.#view = new DataView(this.#buf.buffer);
  }

  #room(n: number): number {
    const at = this.pos;
    if (at + n > this.#buf.length) {
      let size = this.#buf.length * 2;
      while (size < at + n) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.#buf.subarray(0, at));
      this.#buf = next;
      this.#view = new DataView(next.buffer);
    }
    this.pos += n;
    return at;
  }

  static #int(v: number, bits: number): number {
    if (!Number.isInteger(v) || v < 0 || v >= 2 ** bits) throw new TypeError(`value ${v} does not fit in u${bits}`);
    return v;
  }

  static #big(v: bigint | number, signed = false): bigint {
    const b = BigInt(v);
    const ok = signed ? b >= -(1n << 63n) && b < 1n << 63n : b >= 0n && b < 1n << 64n;
    if (!ok) throw new TypeError(`value ${b} does not fit in ${signed ? 'i' : 'u'}64`);
    return b;
  }

  u8(v: number): this {
    const x = ByteWriter.#int(v, 8);
    const at = this.#room(1);
    this.#view.setUint8(at, x);
    return this;
  }
  u16(v: number): this {
    const x = ByteWriter.#int(v, 16);
    const at = this.#room(2);
    this.#view.setUint16(at, x, true);
    return this;
  }
  u32(v: number): this {
    const x = ByteWriter.#int(v, 32);
    const at = this.#room(4);
    this.#view.setUint32(at, x, true);
    return this;
  }
  u64(v: bigint | number): this {
    const x = ByteWriter.#big(v);
    const at = this.#room(8);
    this.#view.setBigUint64(at, x, true);
    return this;
  }
  i64(v: bigint | number): this {
    const x = ByteWriter.#big(v, true);
    const at = this.#room(8);
    this.#view.setBigInt64(at, x, true);
    return this;
  }
  /** Big-endian u32 (FDT). */
  u32be(v: number): this {
    const x = ByteWriter.#int(v, 32);
    const at = this.#room(4);
    this.#view.setUint32(at, x, false);
    return this;
  }
  /** Big-endian u64 (FDT). */
  u64be(v: bigint | number): this {
    const x = ByteWriter.#big(v);
    const at = this.#room(8);
    this.#view.setBigUint64(at, x, false);
    return this;
  }

  /** Appends raw bytes. */
  bytes(b: Uint8Array): this {
    // #room may replace #buf, so take the offset before touching the buffer.
    const at = this.#room(b.length);
    this.#buf.set(b, at);
    return this;
  }
  /** Appends `n` zero bytes. */
  zeros(n: number): this { this.#room(n);
    return this;
  }
  /** Zero-pads to the next multiple of `n`. */
  align(n: number): this { return this.zeros((n - (this.pos % n)) % n); }
  /** Appends a string as UTF-8 followed by a NUL. */
  cstring(s: string): this { return this.bytes(new TextEncoder().encode(s)).u8(0); }

  /** Overwrites a u32 at an earlier offset (for sizes and checksums known only at the end). */
  patchU32(at: number, v: number): this {
    if (at + 4 > this.pos) throw new TypeError(`patch at ${at} is past the written data`);
    this.#view.setUint32(at, ByteWriter.#int(v, 32), true);
    return this;
  }

  /** Overwrites a big-endian u32 at an earlier offset. */
  patchU32be(at: number, v: number): this {
    if (at + 4 > this.pos) throw new TypeError(`patch at ${at} is past the written data`);
    this.#view.setUint32(at, ByteWriter.#int(v, 32), false);
    return this;
  }

  /** A copy of the bytes written. */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.pos);
  }
}
