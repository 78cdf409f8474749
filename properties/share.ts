import fc from 'fast-check';
import type { Plant } from '../lib/plant.ts';
import type { NamedProperty } from './define.ts';

/**
 * One share of a property run — what one thread (the runner's own or a pool worker) executes —
 * and its outcome reduced to plain data, so it crosses a thread boundary as it is.
 */

/** One share's outcome, or a replay's. */
export interface Share { failed: boolean; runs: number; seed: number; path: string | null; counterexample: string | null; error: string | null; shrinks: number }

/** What one share runs: its size and seed, the VP cap, and optionally a replay path or a planted defect. */
export interface ShareSpec { numRuns: number; seed: number; maxVps: number; path?: string; replayPath?: string; plant?: Plant }

/** Runs `spec` of `p`; `onRun` is called before every predicate execution. */
export async function runShare(p: NamedProperty, spec: ShareSpec, onRun: () => void): Promise<Share> {
  const d = await p.run({ ...spec, onRun });
  return {
    failed: d.failed, runs: d.numRuns, seed: d.seed, path: d.failed ? d.counterexamplePath : null,
    counterexample: d.counterexample === null ? null : fc.stringify(d.counterexample),
    error: d.errorInstance === null ? null : String(d.errorInstance), shrinks: d.numShrinks,
  };
}

/** Splits `runs` over `n` shares with derived seeds (seed + i × stride); each share at least one run. */
export function shares(runs: number, n: number, seed: number, stride = 1): Array<{ runs: number; seed: number }> {
  const k = Math.max(1, Math.min(n, runs));
  return Array.from({ length: k }, (_, i) => ({ runs: Math.floor(runs / k) + (i < runs % k ? 1 : 0), seed: (seed + i * stride) | 0 }));
}
