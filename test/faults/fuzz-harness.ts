import { isHclError } from '../../lib/errors.ts';
import type { Rng } from './helpers.ts';

/**
 * A small mutation fuzzer for byte decoders. Each case is a mutation of a valid seed input (bit
 * flips, truncation, a u32 overwritten with a boundary value, a spliced chunk, optionally with the
 * format's checksum fixed up so the decoder gets past it) or random bytes (a quarter of them behind
 * the seed's first 8 bytes, its magic). Per case it records:
 * - what escaped: anything but an HclError is a finding;
 * - wall time: a case over `boundMs` is a finding (a hang detector, not a benchmark);
 * - allocation: `process.memoryUsage().arrayBuffers` after − before the case, with no forced GC.
 *   That counts every ArrayBuffer/Buffer the decoder allocated and still held at the end of the
 *   case (GC during the case can only lower it), so a decoder that trusts a declared length and
 *   allocates it shows up; JS heap objects (arrays, strings) are not counted. A delta above
 *   `allocFactor` × input length + `allocSlack` is a finding.
 */

/** One decoder under fuzz. */
export interface FuzzTarget {
  name: string;
  /** Valid inputs to mutate, with a label handed to `run` (e.g. the unit name). */
  seeds: Array<{ bytes: Uint8Array; label: string }>;
  run: (bytes: Uint8Array, label: string) => unknown;
  /** Makes a mutated input's checksum right again (may throw on hopeless input; ignored). */
  fix?: (bytes: Uint8Array) => void;
  /** Extra generator (e.g. mutations at the tree level), used for a third of the cases when given. */
  generate?: (r: Rng) => { bytes: Uint8Array; label: string };
}

/** What a fuzz run found. */
export interface FuzzReport {
  cases: number;
  findings: string[];
  /** Error codes seen, with counts (`ok` = decoded without error). */
  codes: Record<string, number>;
  maxMs: number;
  /** Largest allocation delta ÷ input length seen (inputs of at least 64 bytes). */
  maxAllocRatio: number;
}

const BOUNDARY = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];

/** A mutation of `seed`. */
export function mutate(seed: Uint8Array, r: Rng): Uint8Array {
  const kind = r.int(5);
  if (kind === 0) {
    const out = new Uint8Array(seed);
    for (let i = 1 + r.int(4); i > 0 && out.length > 0; i--) out[r.int(out.length)]! ^= 1 << r.int(8);
    return out;
  }
  if (kind === 1) return new Uint8Array(seed.subarray(0, r.int(seed.length + 1)));
  if (kind === 2 && seed.length >= 4) {
    const out = new Uint8Array(seed);
    const at = r.int(2) === 0 ? r.int(out.length >> 2) << 2 : r.int(out.length - 3);
    const v = r.int(3) === 0 ? seed.length + r.int(3) - 1 : r.pick(BOUNDARY);
    new DataView(out.buffer).setUint32(at, v >>> 0, r.int(2) === 0);
    return out;
  }
  if (kind === 3 && seed.length > 0) {
    const from = r.int(seed.length);
    const chunk = seed.subarray(from, from + 1 + r.int(256));
    const at = r.int(seed.length);
    const out = new Uint8Array(seed.length + chunk.length);
    out.set(seed.subarray(0, at));
    out.set(chunk, at);
    out.set(seed.subarray(at), at + chunk.length);
    return out;
  }
  const out = new Uint8Array(r.int(1025));
  for (let i = 0; i < out.length; i++) out[i] = r.int(256);
  if (r.int(4) === 0) out.set(seed.subarray(0, Math.min(8, out.length)));
  return out;
}

/** Runs `cases` cases against `t`. */
export function fuzz(t: FuzzTarget, cases: number, r: Rng, opts: { boundMs?: number; allocFactor?: number; allocSlack?: number } = {}): FuzzReport {
  const boundMs = opts.boundMs ?? 1000;
  const allocFactor = opts.allocFactor ?? 8;
  const allocSlack = opts.allocSlack ?? 1 << 20;
  const report: FuzzReport = { cases, findings: [], codes: {}, maxMs: 0, maxAllocRatio: 0 };
  for (let i = 0; i < cases; i++) {
    let input: { bytes: Uint8Array; label: string };
    if (t.generate !== undefined && r.int(3) === 0) input = t.generate(r);
    else {
      const seed = r.pick(t.seeds);
      input = { bytes: mutate(seed.bytes, r), label: seed.label };
      if (t.fix !== undefined && r.int(2) === 0) {
        try { t.fix(input.bytes); } catch { /* not fixable: the decoder sees it as it is */ }
      }
    }
    const before = process.memoryUsage().arrayBuffers;
    const t0 = performance.now();
    let code = 'ok';
    try {
      t.run(input.bytes, input.label);
    } catch (e) {
      if (isHclError(e)) code = e.code;
      else {
        code = 'non-HclError';
        report.findings.push(`${t.name} case ${i} (${input.label}, ${input.bytes.length} bytes): ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)}`);
      }
    }
    const ms = performance.now() - t0;
    const alloc = process.memoryUsage().arrayBuffers - before;
    report.codes[code] = (report.codes[code] ?? 0) + 1;
    report.maxMs = Math.max(report.maxMs, ms);
    if (input.bytes.length >= 64) report.maxAllocRatio = Math.max(report.maxAllocRatio, alloc / input.bytes.length);
    if (ms > boundMs) report.findings.push(`${t.name} case ${i} (${input.label}, ${input.bytes.length} bytes): took ${ms.toFixed(0)} ms (bound ${boundMs})`);
    if (alloc > allocFactor * input.bytes.length + allocSlack) {
      report.findings.push(`${t.name} case ${i} (${input.label}, ${input.bytes.length} bytes): allocated ${alloc} bytes of ArrayBuffers (bound ${allocFactor}× input + ${allocSlack})`);
    }
  }
  return report;
}
