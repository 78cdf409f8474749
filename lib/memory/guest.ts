import { HclError } from '../errors.ts';

/** Guest page size in bytes. */
export const PAGE_SIZE = 4096;
const PAGE = BigInt(PAGE_SIZE);

/**
 * Sparse guest physical memory in 4 KiB pages. Pages never written read as zero; reads and
 * writes may span pages. Addresses are bigint GPAs below `limit`.
 */
export class GuestMemory {
  readonly #pages = new Map<bigint, Uint8Array>();
  /** Exclusive upper bound of valid GPAs. */
  readonly limit: bigint;

  constructor(limit: bigint = 1n << 52n) {
    this.limit = limit;
  }

  #check(gpa: bigint, len: number): void {
    if (gpa < 0n || len < 0 || gpa + BigInt(len) > this.limit) {
      throw new HclError('MEMORY_OUT_OF_RANGE', `guest memory: access of ${len} bytes at 0x${gpa.toString(16)} is outside 0..0x${this.limit.toString(16)}`);
    }
  }

  /** Copies `data` into guest memory at `gpa`. */
  write(gpa: bigint, data: Uint8Array): void {
    this.#check(gpa, data.length);
    let done = 0;
    while (done < data.length) {
      const at = gpa + BigInt(done);
      const pn = at / PAGE;
      const off = Number(at % PAGE);
      const n = Math.min(PAGE_SIZE - off, data.length - done);
      let page = this.#pages.get(pn);
      if (page === undefined) {
        page = new Uint8Array(PAGE_SIZE);
        this.#pages.set(pn, page);
      }
      page.set(data.subarray(done, done + n), off);
      done += n;
    }
  }

  /** A copy of `len` bytes at `gpa` (unwritten bytes are zero). */
  read(gpa: bigint, len: number): Uint8Array {
    this.#check(gpa, len);
    const out = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const at = gpa + BigInt(done);
      const page = this.#pages.get(at / PAGE);
      const off = Number(at % PAGE);
      const n = Math.min(PAGE_SIZE - off, len - done);
      if (page !== undefined) out.set(page.subarray(off, off + n), done);
      done += n;
    }
    return out;
  }

  /** Zeroes `len` bytes at `gpa`, dropping whole pages. */
  zero(gpa: bigint, len: number): void {
    this.write(gpa, new Uint8Array(len));
  }

  /** Page numbers that have been written, ascending. */
  pageNumbers(): bigint[] {
    return [...this.#pages.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Number of pages backed by storage. */
  get pageCount(): number {
    return this.#pages.size;
  }
}
