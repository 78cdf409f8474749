/**
 * Which saved-state and config fields the human views print in hex, the way VMM engineers read
 * them: every VP register (x86 GPRs, control registers and MSR-backed ones such as apicBase,
 * efer, pat; aarch64 system registers), APIC IDs / MPIDRs (`reg`), guest physical addresses and
 * memory range sizes (`base`, `size` of a range, `*Gpa`, `*Base`, `ringSize`, NVMe `acq`/`asq`/`basePfn`/`memLen`), NVMe controller
 * registers and aarch64 device addresses. `--json` keeps the lossless form (integers as JSON
 * numbers, 64-bit values as decimal strings ending in `n`).
 */

const HEX_KEY = /^(reg|mpidr|apicId|base|gpa|\w+Gpa|\w+Base|ringSize|acq|asq|basePfn|memLen|cc|aqa|csts|intms|intmc|uart|gicDistributor|gicRedistributor)$/;
/** Objects that are guest memory ranges: their `size` is hex too (a queue's `size` in entries is not). */
const RANGE = /^(memory|vtl0|vtl2|vtl0Mmio|vtl2Mmio|vtl2Ram|ranges)$/;

/** True when the field at `keys` (object keys from the root, array indices left out) prints in hex. */
export function isHexField(keys: readonly string[]): boolean {
  const leaf = keys[keys.length - 1];
  if (leaf === undefined) return false;
  if (HEX_KEY.test(leaf) || keys.slice(0, -1).includes('registers')) return true;
  return leaf === 'size' && RANGE.test(keys[keys.length - 2] ?? '');
}

/** The object keys of a dotted change path (`hv.vps[3].registers.rip` → hv, vps, registers, rip). */
export function pathKeys(path: string): string[] {
  return path.replace(/\[[^\]]*\]/g, '').split('.').filter((k) => k !== '');
}

/** `0x…` for a non-negative integer; other values unchanged. */
export function hexOf(v: unknown): unknown {
  if (typeof v === 'bigint' && v >= 0n) return `0x${v.toString(16)}`;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return `0x${v.toString(16)}`;
  return v;
}

/** A copy of `v` with every integer at a hex field (isHexField) replaced by its `0x…` string. */
export function withHexFields(v: unknown, keys: string[] = []): unknown {
  if (Array.isArray(v)) return v.map((x) => withHexFields(x, keys));
  if (v instanceof Uint8Array || typeof v !== 'object' || v === null) return isHexField(keys) ? hexOf(v) : v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = withHexFields(x, [...keys, k]);
  return out;
}
