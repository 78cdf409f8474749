import { median } from './measure.ts';

/**
 * The bench's headline ratios (issue 16), with fixed names so other tools can read them from
 * `bench --json`. Time ratios divide CPU-time medians (a loaded shared machine moves wall time
 * far more than CPU time); the CLI ratios divide wall-time medians of cold processes, and
 * workers2Vs1 divides property throughput (runs per wall-clock second).
 */

/** Names of the ratios, in report order. */
export const RATIO_NAMES = [
  'cycleVsBoot', 'persistVsPrimitives', 'cycleVsJsonCycle', 'bootVsFdt', 'bytesPerVp', 'bytesVsJson',
  'incremental', 'scaling', 'cliStart', 'cliLs', 'workers2Vs1',
] as const;

/** One ratio's name. */
export type RatioName = (typeof RATIO_NAMES)[number];

/** What a ratio means and the goal it is held to. */
export interface RatioSpec { definition: string; goal: number; better: 'lower' | 'higher'; basis: 'cpu' | 'wall' | 'bytes' | 'throughput' }

/** Definitions and goals, as the table states them. */
export const RATIO_SPECS: Readonly<Record<RatioName, RatioSpec>> = {
  cycleVsBoot: { definition: 'one save + restore cycle ÷ the boot inside its restore, 2048 VPs', goal: 1.3, better: 'lower', basis: 'cpu' },
  persistVsPrimitives: {
    definition: 'encode + store write + store read + decode ÷ sha256 + chunking + deflate + inflate + LevelDB batch over the same bytes',
    goal: 1.5, better: 'lower', basis: 'cpu',
  },
  cycleVsJsonCycle: { definition: "hclckpt's cycle ÷ the same cycle with each part written and read as a JSON file", goal: 0.6, better: 'lower', basis: 'cpu' },
  bootVsFdt: { definition: 'boot ÷ FDT write + parse of the same host and kernel trees', goal: 2, better: 'lower', basis: 'cpu' },
  bytesPerVp: { definition: 'logical snapshot bytes ÷ VPs at 2048 VPs', goal: 400, better: 'lower', basis: 'bytes' },
  bytesVsJson: { definition: "one snapshot's stored bytes ÷ the JSON peer's file bytes", goal: 0.05, better: 'lower', basis: 'bytes' },
  incremental: { definition: 'new bytes of a second save after one workload step ÷ the logical bytes (median over seeds)', goal: 0.01, better: 'lower', basis: 'bytes' },
  scaling: { definition: 'cycle at 8n VPs ÷ (8 × cycle at n VPs)', goal: 1.1, better: 'lower', basis: 'cpu' },
  cliStart: { definition: 'cold `hclckpt --version` ÷ cold `node -e 0`', goal: 2.5, better: 'lower', basis: 'wall' },
  cliLs: { definition: 'cold `hclckpt ls` on a one-snapshot store ÷ cold `node -e 0`', goal: 3, better: 'lower', basis: 'wall' },
  workers2Vs1: { definition: '`prop` throughput with 2 workers ÷ 1 worker', goal: 1.6, better: 'higher', basis: 'throughput' },
};

/** A ratio as reported: value null when this run did not measure what it needs (then not met). */
export interface Ratio extends RatioSpec { value: number | null; met: boolean }

/** Every ratio by name. */
export type BenchRatios = Record<RatioName, Ratio>;

/** What the ratios are computed from (CPU medians in ms unless said otherwise). */
export interface RatioInputs {
  vps: number;
  cycle: number;
  boot: number;
  persist: number;
  primitives: number;
  jsonCycle: number;
  fdt: number;
  /** Logical snapshot bytes (parts before chunking and compression), stored bytes, JSON file bytes. */
  logicalBytes: number;
  storedBytes: number;
  jsonBytes: number;
  incremental: readonly number[];
  /** Cycle CPU medians at [8n, n] VPs, or null when not both measured. */
  scaling: { large: number; small: number; factor: number } | null;
  /** Wall medians of cold processes; a field may be missing when not measured. */
  cli: { hclckptVersion?: number; hclckptLs?: number; nodeE0: number } | null;
  /** Property throughput (runs/s) with one and with two workers. */
  workers: { one: number; two: number } | null;
}

/** Judges `value` against its spec. */
export function ratio(name: RatioName, value: number | null): Ratio {
  const spec = RATIO_SPECS[name];
  const ok = value !== null && Number.isFinite(value) && (spec.better === 'lower' ? value <= spec.goal : value >= spec.goal);
  return { ...spec, value, met: ok };
}

const div = (a: number | undefined, b: number | undefined): number | null => (a === undefined || b === undefined || b === 0 ? null : a / b);

/** Every ratio from measured (or, in tests, injected) inputs. */
export function computeRatios(m: RatioInputs): BenchRatios {
  const values: Record<RatioName, number | null> = {
    cycleVsBoot: div(m.cycle, m.boot),
    persistVsPrimitives: div(m.persist, m.primitives),
    cycleVsJsonCycle: div(m.cycle, m.jsonCycle),
    bootVsFdt: div(m.boot, m.fdt),
    bytesPerVp: div(m.logicalBytes, m.vps),
    bytesVsJson: div(m.storedBytes, m.jsonBytes),
    incremental: m.incremental.length === 0 ? null : median(m.incremental),
    scaling: m.scaling === null ? null : div(m.scaling.large, m.scaling.factor * m.scaling.small),
    cliStart: div(m.cli?.hclckptVersion, m.cli?.nodeE0),
    cliLs: div(m.cli?.hclckptLs, m.cli?.nodeE0),
    workers2Vs1: div(m.workers?.two, m.workers?.one),
  };
  return Object.fromEntries(RATIO_NAMES.map((n) => [n, ratio(n, values[n])])) as BenchRatios;
}
