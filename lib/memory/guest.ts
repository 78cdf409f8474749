import { HclError } from '../errors.ts';

/** Guest page size in bytes. */
export const PAGE_SIZE = 4096;
const PAGE = BigInt(PAGE_SIZE);
const SAFE_PAGE = BigInt(Number.MAX_SAFE_INTEGER);

// Pages are keyed by page number as a JS number (hashing a bigint key per page access was the
// cost of the map); a page number beyond 2^53, possible only with a huge `limit`, keeps its bigint
// key, so the keying stays one-to-one.
type PageKey = number | bigint;
const keyOf = (pn: bigint): PageKey => (pn <= SAFE_PAGE ? Number(pn) : pn);

/**
 * Sparse guest physical memory in 4 KiB pages. Pages never written read as zero; reads and
 * writes may span pages. Addresses are bigint GPAs below `limit`.
 */
export class GuestMemory {
  readonly #pages = new Map<PageKey, Uint8Array>();
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
      const key = keyOf(pn);
      let page = this.#pages.get(key);
      if (page === undefined) {
        page = new Uint8Array(PAGE_SIZE);
        this.#pages.set(key, page);
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
      const page = this.#pages.get(keyOf(at / PAGE));
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
    return [...this.#pages.keys()].map((k) => BigInt(k)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Number of pages backed by storage. */
  get pageCount(): number {
    return this.#pages.size;
  }
}
