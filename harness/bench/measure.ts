/**
 * How the bench measures: every case of one VP count runs once per round, rounds rotate the
 * order (A B C, B C A, C A B, …) so a slow stretch of a shared machine hits every case alike,
 * and each run records wall time and this process's CPU time (user + system, every thread,
 * so LevelDB's and zlib's worker threads count too).
 */

/** One measured run (ms). */
export interface Sample { wallMs: number; cpuMs: number }

/** Spread of a list of ms values. */
export interface Spread { min: number; median: number; max: number }

/** A case's runs after warm-up, with the spread of each clock. */
export interface Measured { runs: Sample[]; wall: Spread; cpu: Spread }

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new TypeError('median of an empty list');
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Min, median and max of a non-empty list. */
export function spread(xs: readonly number[]): Spread {
  return { min: Math.min(...xs), median: median(xs), max: Math.max(...xs) };
}

/** The spreads of a list of runs. */
export function measured(runs: Sample[]): Measured {
  return { runs, wall: spread(runs.map((r) => r.wallMs)), cpu: spread(runs.map((r) => r.cpuMs)) };
}

/** Wall and CPU time of `fn`. */
export async function timed(fn: () => Promise<unknown> | unknown): Promise<Sample> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wallMs, cpuMs: (c.user + c.system) / 1000 };
}

/** The sum of samples taken in parts of one run. */
export function sum(samples: readonly Sample[]): Sample {
  return samples.reduce((a, s) => ({ wallMs: a.wallMs + s.wallMs, cpuMs: a.cpuMs + s.cpuMs }), { wallMs: 0, cpuMs: 0 });
}

/** One case: a run does its own setup and returns the sample of its measured part only. */
export type CaseRun = () => Promise<Sample>;

/** The order of `n` cases in round `round`: rotated by the round number. */
export function roundOrder(n: number, round: number): number[] {
  return Array.from({ length: n }, (_, i) => (i + round) % n);
}

/**
 * Runs every case `warmup` rounds unrecorded, then `reps` recorded rounds, each round in
 * rotated order; returns each case's runs in the order of `cases`.
 */
export async function interleaved<K extends string>(cases: ReadonlyArray<[K, CaseRun]>, reps: number, warmup: number): Promise<Map<K, Measured>> {
  const runs = cases.map((): Sample[] => []);
  for (let round = 0; round < warmup + Math.max(1, reps); round++) {
    for (const i of roundOrder(cases.length, round)) {
      const s = await (cases[i] as [K, CaseRun])[1]();
      if (round >= warmup) (runs[i] as Sample[]).push(s);
    }
  }
  return new Map(cases.map(([k], i) => [k, measured(runs[i] as Sample[])]));
}
