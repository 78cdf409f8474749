import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isHclError } from '../../lib/errors.ts';
import { BENCH_GOALS, benchOptions, computeRatios, median, runBench, type BenchCase, type BenchStage } from '../../harness/bench/bench.ts';
import { scaledConfig, BENCH_VPS_PER_NODE } from '../../harness/bench/config.ts';
import { benchSvg } from '../../harness/bench/plot.ts';
import { renderBench } from '../../harness/bench/report.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

for (const vps of [1, 4, 64, 256, 512, 2048]) {
  test(`scaledConfig(${vps}) is a valid config with devices scaled along`, () => {
    const c = scaledConfig(vps);
    assert.is(c.vps.length, vps);
    assert.is(c.numa.length, Math.ceil(vps / BENCH_VPS_PER_NODE));
    assert.ok(c.vps.every((v) => v.vnode < c.numa.length));
    assert.is(c.devices.channels.length, Math.max(3, Math.ceil(vps / 32)));
    assert.ok(c.devices.nvme.every((n) => n.ioQueues === Math.min(vps, 2048)));
    assert.is(new Set(c.devices.channels.map((ch) => ch.instanceId)).size, c.devices.channels.length);
    if (c.distances !== undefined) assert.is(c.distances.length, c.numa.length);
  });
}

test('scaledConfig refuses vp counts outside 1..2048', () => {
  for (const bad of [0, 2049, 1.5]) {
    try {
      scaledConfig(bad);
      assert.unreachable('accepted');
    } catch (e) {
      assert.ok(isHclError(e) && e.code === 'USAGE' && e.message.includes(`vp count ${bad}`), String(e));
    }
  }
});

test('median of odd and even lists', () => {
  assert.is(median([3, 1, 2]), 2);
  assert.is(median([4, 1, 3, 2]), 2.5);
  assert.throws(() => median([]), /empty/);
});

test('computeRatios divides the named cases', () => {
  const c = (stage: BenchStage, vps: number, ms: number, bytes?: number): BenchCase => ({ stage, vps, ms, runs: [ms], ...(bytes === undefined ? {} : { bytes }) });
  const cases = [c('cycle', 8, 30), c('cycle', 64, 480), c('raw', 64, 120), c('json', 64, 960, 4000), c('save', 64, 50, 1000)];
  const r = computeRatios(cases, 64, [64, 8], [0.3, 0.1, 0.2], { hclckptVersion: 100, hclckptLs: 300, nodeE0: 50 });
  assert.equal(r, { cycleVsRaw: 480 / 120, cycleVsJson: 480 / 960, bytesVsJson: 1000 / 4000, scaling: 480 / (8 * 30), incremental: 0.2, cliStart: 2, cliLs: 6 });
  assert.is(computeRatios(cases, 64, null, [0.1], null).scaling, null);
});

test('a tiny bench run: JSON shape, and ratios computed from its own measured cases', async () => {
  const o = { ...benchOptions(true), vps: [2, 16], reps: 1, warmup: 0, cliRuns: 0, incrementalSeeds: [2] };
  const r = await runBench(o);
  const stages: BenchStage[] = ['boot', 'save', 'restore', 'cycle', 'raw', 'raw.msgpack', 'raw.level', 'raw.fdt', 'json'];
  for (const vps of [2, 16]) {
    for (const stage of stages) {
      const found = r.cases.filter((x) => x.stage === stage && x.vps === vps);
      assert.is(found.length, 1, `${stage} at ${vps}`);
      const k = found[0] as BenchCase;
      assert.ok(k.ms > 0 && k.runs.length === 1, `${stage} at ${vps}: ${k.ms}`);
    }
    const ms = (stage: BenchStage) => r.cases.find((x) => x.stage === stage && x.vps === vps)!.ms;
    assert.ok(Math.abs(ms('raw') - (ms('raw.msgpack') + ms('raw.level') + ms('raw.fdt'))) < 1e-9, 'raw is the sum of its primitives');
  }
  const at = (stage: BenchStage, vps = 16) => r.cases.find((x) => x.stage === stage && x.vps === vps)!;
  assert.is(r.headlineVps, 16);
  assert.equal(r.scalingPair, [16, 2]);
  assert.is(r.ratios.cycleVsRaw, at('cycle').ms / at('raw').ms);
  assert.is(r.ratios.cycleVsJson, at('cycle').ms / at('json').ms);
  assert.is(r.ratios.bytesVsJson, at('save').bytes! / at('json').bytes!);
  assert.is(r.ratios.scaling, at('cycle').ms / (8 * at('cycle', 2).ms));
  assert.is(r.incrementalRuns.length, 1);
  assert.is(r.ratios.incremental, r.incrementalRuns[0]);
  assert.ok(r.ratios.incremental > 0 && r.ratios.incremental < 1, String(r.ratios.incremental));
  assert.is(r.ratios.cliStart, null);
  assert.is(r.ratios.cliLs, null);
  assert.ok(at('save').bytes! > 0 && at('json').bytes! > 0);
  assert.equal(r.goals.map((g) => g.ratio), Object.keys(BENCH_GOALS));
  for (const g of r.goals) assert.is(g.met, g.value === null ? null : g.value <= g.goal);
  assert.ok(r.machine.cores > 0 && r.machine.node.startsWith('v'));
  // What --json prints survives JSON.
  const back = JSON.parse(JSON.stringify(r)) as { cases: unknown[]; ratios: Record<string, unknown>; machine: object };
  assert.is(back.cases.length, r.cases.length);
  assert.equal(Object.keys(back.ratios).sort(), ['bytesVsJson', 'cliLs', 'cliStart', 'cycleVsJson', 'cycleVsRaw', 'incremental', 'scaling']);

  const svg = benchSvg(r.cases);
  assert.ok(svg.startsWith('<svg') && svg.trimEnd().endsWith('</svg>'));
  for (const s of ['boot', 'save', 'restore', 'cycle', 'raw', 'json']) assert.ok(svg.includes(`>${s}</text>`), s);
  assert.is((svg.match(/<polyline/g) ?? []).length, 6);
  const text = renderBench(r);
  assert.ok(text.includes('cycleVsRaw') && text.includes('16 VPs'), text);
});

test('cliStartTimes runs the real binary (found from this module) for --version, ls on a store with one snapshot, and node -e 0', async () => {
  const { cliStartTimes } = await import('../../harness/bench/cli.ts');
  const dir = mkdtempSync(join(tmpdir(), 'hclckpt-benchcli-'));
  try {
    const t = await cliStartTimes(1, join(dir, 'store'));
    assert.equal([t.hclckptVersion.length, t.hclckptLs.length, t.nodeE0.length], [1, 1, 1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
