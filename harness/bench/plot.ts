import { BENCH_STAGES, type BenchCase, type BenchStage } from './bench.ts';

/**
 * `bench --plot`: CPU time (median) against VP count per stage and baseline as a hand-written SVG, both axes logarithmic so
 * 4 and 2048 VPs fit one chart and linear scaling shows as a line of slope 1.
 */

const COLORS: Readonly<Record<BenchStage, string>> = {
  boot: '#1f77b4', save: '#ff7f0e', restore: '#2ca02c', cycle: '#d62728',
  persist: '#8c564b', primitives: '#7f7f7f', fdt: '#bcbd22', jsonCycle: '#9467bd',
};
const STAGES = BENCH_STAGES.map((stage) => ({ stage, color: COLORS[stage] }));
const W = 720;
const H = 440;
const M = { left: 70, right: 130, top: 30, bottom: 50 };

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** The SVG text of the chart for `cases`. */
export function benchSvg(cases: readonly BenchCase[], title = 'hclckpt bench: median CPU time per stage'): string {
  const shown = cases.filter((c) => STAGES.some((s) => s.stage === c.stage) && c.cpu.median > 0);
  const vps = [...new Set(shown.map((c) => c.vps))].sort((a, b) => a - b);
  const ms = shown.map((c) => c.cpu.median);
  const x0 = Math.log10(Math.min(...vps, 1));
  const x1 = Math.log10(Math.max(...vps, 2));
  const y0 = Math.floor(Math.log10(Math.min(...ms, 1)));
  const y1 = Math.ceil(Math.log10(Math.max(...ms, 10)));
  const px = (v: number) => M.left + ((Math.log10(v) - x0) / (x1 - x0 || 1)) * (W - M.left - M.right);
  const py = (v: number) => H - M.bottom - ((Math.log10(v) - y0) / (y1 - y0 || 1)) * (H - M.top - M.bottom);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<line x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}" stroke="black"/>`,
    `<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${H - M.bottom}" stroke="black"/>`,
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 12}" text-anchor="middle">VPs (log)</text>`,
    `<text x="16" y="${H / 2}" text-anchor="middle" transform="rotate(-90 16 ${H / 2})">CPU ms (log)</text>`,
  ];
  for (const v of vps) {
    out.push(`<line x1="${px(v)}" y1="${H - M.bottom}" x2="${px(v)}" y2="${H - M.bottom + 5}" stroke="black"/>`);
    out.push(`<text x="${px(v)}" y="${H - M.bottom + 18}" text-anchor="middle">${v}</text>`);
  }
  for (let e = y0; e <= y1; e++) {
    const y = py(10 ** e);
    out.push(`<line x1="${M.left}" y1="${y}" x2="${W - M.right}" y2="${y}" stroke="#ddd"/>`);
    out.push(`<text x="${M.left - 6}" y="${y + 4}" text-anchor="end">${10 ** e >= 1 ? 10 ** e : (10 ** e).toPrecision(1)}</text>`);
  }
  STAGES.forEach(({ stage, color }, i) => {
    const pts = shown.filter((c) => c.stage === stage).sort((a, b) => a.vps - b.vps);
    if (pts.length === 0) return;
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((c) => `${px(c.vps).toFixed(1)},${py(c.cpu.median).toFixed(1)}`).join(' ')}"/>`);
    for (const c of pts) out.push(`<circle cx="${px(c.vps).toFixed(1)}" cy="${py(c.cpu.median).toFixed(1)}" r="3" fill="${color}"><title>${stage} ${c.vps} vps: ${c.cpu.median.toFixed(1)} ms CPU</title></circle>`);
    const ly = M.top + 10 + i * 18;
    out.push(`<line x1="${W - M.right + 12}" y1="${ly}" x2="${W - M.right + 32}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${W - M.right + 38}" y="${ly + 4}">${stage}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
