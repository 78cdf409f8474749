import Table from 'cli-table3';
import type { BenchResult, BenchStage } from './bench.ts';

/** Text rendering of a bench run: a stage × VP-count table of medians, then the ratios against their goals. */

const STAGES: BenchStage[] = ['boot', 'save', 'restore', 'cycle', 'raw', 'raw.msgpack', 'raw.level', 'raw.fdt', 'json'];

const fmt = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));

/** The bench result as tables for a terminal (or a README, which takes the same text). */
export function renderBench(r: BenchResult): string {
  const vps = r.options.vps;
  const t = new Table({ head: ['median ms', ...vps.map((v) => `${v} VPs`)], style: { head: [], border: [], compact: true } });
  for (const stage of STAGES) {
    t.push([stage, ...vps.map((v) => { const c = r.cases.find((x) => x.stage === stage && x.vps === v); return c === undefined ? '' : fmt(c.ms); })]);
  }
  const bytes = (stage: BenchStage) => vps.map((v) => String(r.cases.find((x) => x.stage === stage && x.vps === v)?.bytes ?? ''));
  t.push(['snapshot bytes', ...bytes('save')], ['json bytes', ...bytes('json')]);
  const g = new Table({ head: ['ratio', 'value', 'goal', 'met'], style: { head: [], border: [], compact: true } });
  for (const x of r.goals) g.push([x.ratio, x.value === null ? 'n/a' : x.value.toFixed(3), `≤ ${x.goal}`, x.met === null ? 'n/a' : x.met ? 'yes' : 'no']);
  const m = r.machine;
  return [
    t.toString(),
    `ratios at ${r.headlineVps} VPs; scaling ${r.scalingPair === null ? 'not measured' : `${r.scalingPair[0]} ÷ (8 × ${r.scalingPair[1]})`}; reps ${r.options.reps} after ${r.options.warmup} warm-up`,
    g.toString(),
    `machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, node ${m.node}`,
    '',
  ].join('\n');
}
