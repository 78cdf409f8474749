import Table from 'cli-table3';
import { BENCH_STAGES, type BenchResult } from './bench.ts';
import { RATIO_NAMES } from './ratios.ts';

/**
 * Text rendering of a bench run: a stage × VP-count table of CPU medians with their min–max and
 * the wall median, the byte counts, then every ratio against its goal.
 */

const fmt = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
const style = { head: [], border: [], compact: true };

/** The bench result as tables for a terminal (or a README, which takes the same text). */
export function renderBench(r: BenchResult): string {
  const vps = r.options.vps;
  const t = new Table({ head: ['cpu ms: median (min–max) / wall median', ...vps.map((v) => `${v} VPs`)], style });
  for (const stage of BENCH_STAGES) {
    t.push([stage, ...vps.map((v) => {
      const c = r.cases.find((x) => x.stage === stage && x.vps === v);
      return c === undefined ? '' : `${fmt(c.cpu.median)} (${fmt(c.cpu.min)}–${fmt(c.cpu.max)}) / ${fmt(c.wall.median)}`;
    })]);
  }
  const bytes = (k: 'logical' | 'stored' | 'json') => vps.map((v) => String(r.bytes.find((x) => x.vps === v)?.[k] ?? ''));
  t.push(['logical bytes', ...bytes('logical')], ['stored bytes', ...bytes('stored')], ['json bytes', ...bytes('json')]);
  const g = new Table({ head: ['ratio', 'value', 'goal', 'met', 'basis'], style });
  for (const name of RATIO_NAMES) {
    const x = r.ratios[name];
    g.push([name, x.value === null ? 'n/a' : x.value.toFixed(3), `${x.better === 'lower' ? '≤' : '≥'} ${x.goal}`, x.met ? 'yes' : 'no', x.basis]);
  }
  const m = r.machine;
  const pair = r.scalingPair === null ? 'not measured' : `${r.scalingPair[0]} ÷ (8 × ${r.scalingPair[1]})`;
  const p = r.propRunsPerSecond;
  const prop = p === null ? [] : [
    `restore-proves: ${p.one.toFixed(1)} runs/s with 1 worker on ${p.cores.one.toFixed(2)} cores, ${p.two.toFixed(1)} with 2 on ${p.cores.two.toFixed(2)} (CPU ÷ wall)`,
  ];
  return [
    t.toString(),
    `ratios at ${r.headlineVps} VPs; scaling ${pair}; ${r.options.reps} interleaved rounds after ${r.options.warmup} warm-up`,
    g.toString(),
    ...prop,
    `machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, node ${m.node}`,
    '',
  ].join('\n');
}
