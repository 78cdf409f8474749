import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isHclError } from '../../lib/errors.ts';
import { BENCH_STAGES, benchOptions, benchRatios, runBench, type BenchCase } from '../../harness/bench/bench.ts';
import { interleaved, measured, median, roundOrder, spread, type Sample } from '../../harness/bench/measure.ts';
import { RATIO_NAMES, RATIO_SPECS, computeRatios, type RatioInputs } from '../../harness/bench/ratios.ts';
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

test('median and spread of odd and even lists', () => {
  assert.is(median([3, 1, 2]), 2);
  assert.is(median([4, 1, 3, 2]), 2.5);
  assert.throws(() => median([]), /empty/);
  assert.equal(spread([5, 1, 4, 2]), { min: 1, median: 3, max: 5 });
  assert.equal(measured([{ wallMs: 10, cpuMs: 4 }, { wallMs: 30, cpuMs: 2 }, { wallMs: 20, cpuMs: 9 }]).cpu, { min: 2, median: 4, max: 9 });
});

test('rounds rotate the case order, so every case runs once per round and each leads once in n rounds', () => {
  assert.equal([0, 1, 2].map((r) => roundOrder(3, r)), [[0, 1, 2], [1, 2, 0], [2, 0, 1]]);
  for (let n = 1; n <= 6; n++) {
    for (let r = 0; r < 2 * n; r++) assert.equal([...roundOrder(n, r)].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
    assert.equal(new Set(Array.from({ length: n }, (_, r) => roundOrder(n, r)[0])).size, n);
  }
});

test('interleaved runs A B A B in rotated rounds, drops the warm-up round and keeps each case its own samples', async () => {
  const calls: string[] = [];
  const sample = (name: string, i: number): Sample => ({ wallMs: i * 10, cpuMs: name === 'a' ? i : 100 + i });
  const count = { a: 0, b: 0 };
  const run = (name: 'a' | 'b') => async () => { calls.push(name); return sample(name, ++count[name]); };
  const m = await interleaved([['a', run('a')], ['b', run('b')]], 3, 1);
  assert.equal(calls, ['a', 'b', 'b', 'a', 'a', 'b', 'b', 'a']);
  // Warm-up call 1 of each is dropped: runs 2, 3, 4 remain.
  assert.equal(m.get('a')!.runs.map((s) => s.cpuMs), [2, 3, 4]);
  assert.equal(m.get('b')!.cpu, { min: 102, median: 103, max: 104 });
  assert.equal(m.get('b')!.wall, { min: 20, median: 30, max: 40 });
});

const INPUTS: RatioInputs = {
  vps: 2048, cycle: 130, boot: 100, persist: 45, primitives: 30, jsonCycle: 260, fdt: 40,
  logicalBytes: 819_200, storedBytes: 50, jsonBytes: 2000, incremental: [0.03, 0.001, 0.002],
  scaling: { large: 990, small: 100, factor: 8 }, cli: { hclckptVersion: 100, hclckptLs: 160, nodeE0: 50 }, workers: { one: 30, two: 51 },
};

test('computeRatios: each ratio is its definition over the injected measurements, judged by its goal and direction', () => {
  const r = computeRatios(INPUTS);
  assert.equal(Object.keys(r), [...RATIO_NAMES]);
  assert.equal(RATIO_NAMES, ['cycleVsBoot', 'persistVsPrimitives', 'cycleVsJsonCycle', 'bootVsFdt', 'bytesPerVp', 'bytesVsJson', 'incremental', 'scaling', 'cliStart', 'cliLs', 'workers2Vs1']);
  const v = Object.fromEntries(RATIO_NAMES.map((n) => [n, r[n].value]));
  assert.equal(v, {
    cycleVsBoot: 1.3, persistVsPrimitives: 1.5, cycleVsJsonCycle: 0.5, bootVsFdt: 2.5, bytesPerVp: 400, bytesVsJson: 0.025,
    incremental: 0.002, scaling: 990 / 800, cliStart: 2, cliLs: 3.2, workers2Vs1: 1.7,
  });
  const met = Object.fromEntries(RATIO_NAMES.map((n) => [n, r[n].met]));
  // Goals are inclusive (1.3, 1.5, 400 sit exactly on theirs); bootVsFdt, scaling and cliLs miss.
  assert.equal(met, {
    cycleVsBoot: true, persistVsPrimitives: true, cycleVsJsonCycle: true, bootVsFdt: false, bytesPerVp: true, bytesVsJson: true,
    incremental: true, scaling: false, cliStart: true, cliLs: false, workers2Vs1: true,
  });
  assert.equal([r.cycleVsBoot.goal, r.workers2Vs1.goal, r.workers2Vs1.better, r.cliLs.basis], [1.3, 1.6, 'higher', 'wall']);
  // workers2Vs1 is met from above only.
  assert.is(computeRatios({ ...INPUTS, workers: { one: 30, two: 45 } }).workers2Vs1.met, false);
  for (const n of RATIO_NAMES) assert.equal(r[n].definition, RATIO_SPECS[n].definition);
});

test('computeRatios: what a run did not measure is null and not met', () => {
  const r = computeRatios({ ...INPUTS, scaling: null, cli: { hclckptLs: 160, nodeE0: 50 }, workers: null, incremental: [] });
  for (const n of ['scaling', 'cliStart', 'workers2Vs1', 'incremental'] as const) assert.equal([r[n].value, r[n].met], [null, false], n);
  assert.is(r.cliLs.value, 3.2);
  assert.equal([computeRatios({ ...INPUTS, cli: null }).cliLs.value, computeRatios({ ...INPUTS, fdt: 0 }).bootVsFdt.met], [null, false]);
});

test('benchRatios takes CPU medians of the headline cases and the scaling pair', () => {
  const c = (stage: BenchCase['stage'], vps: number, cpu: number): BenchCase => ({ stage, vps, ...measured([{ wallMs: 999, cpuMs: cpu }, { wallMs: 1, cpuMs: cpu + 2 }, { wallMs: 5, cpuMs: cpu - 2 }]) });
  const cases = [c('cycle', 8, 10), ...BENCH_STAGES.map((s, i) => c(s, 64, 20 * (i + 1)))];
  const r = benchRatios({
    cases, bytes: [{ vps: 64, logical: 6400, stored: 100, json: 1000 }], headlineVps: 64, scalingPair: [64, 8], incrementalRuns: [0.5],
    cliStartMs: null, propRunsPerSecond: { one: 10, two: 18, cores: { one: 0.9, two: 1.7 } },
  });
  const at = (s: BenchCase['stage']) => 20 * (BENCH_STAGES.indexOf(s) + 1);
  assert.is(r.cycleVsBoot.value, at('cycle') / at('boot'));
  assert.is(r.persistVsPrimitives.value, at('persist') / at('primitives'));
  assert.is(r.cycleVsJsonCycle.value, at('cycle') / at('jsonCycle'));
  assert.is(r.bootVsFdt.value, at('boot') / at('fdt'));
  assert.is(r.scaling.value, at('cycle') / (8 * 10));
  assert.equal([r.bytesPerVp.value, r.bytesVsJson.value, r.incremental.value, r.workers2Vs1.value], [100, 0.1, 0.5, 1.8]);
  assert.throws(() => benchRatios({ cases: cases.slice(1), bytes: [], headlineVps: 64, scalingPair: null, incrementalRuns: [], cliStartMs: null, propRunsPerSecond: null }), /no bytes at 64/);
});

test('a tiny bench run: every stage interleaved at each VP count, both clocks, and ratios from its own cases', async () => {
  const o = { ...benchOptions(true), vps: [2, 16], reps: 2, warmup: 0, cliRuns: 0, propRuns: 0, incrementalSeeds: [2] };
  const r = await runBench(o);
  for (const vps of [2, 16]) {
    for (const stage of BENCH_STAGES) {
      const found = r.cases.filter((x) => x.stage === stage && x.vps === vps);
      assert.is(found.length, 1, `${stage} at ${vps}`);
      const k = found[0] as BenchCase;
      assert.is(k.runs.length, 2, `${stage} at ${vps}`);
      assert.ok(k.runs.every((s) => Number.isFinite(s.wallMs) && s.wallMs >= 0 && Number.isFinite(s.cpuMs) && s.cpuMs >= 0), `${stage} at ${vps}`);
      assert.ok(k.cpu.min <= k.cpu.median && k.cpu.median <= k.cpu.max && k.wall.min <= k.wall.max, `${stage} at ${vps}`);
    }
    const b = r.bytes.find((x) => x.vps === vps)!;
    assert.ok(b.logical > 0 && b.stored > 0 && b.json > b.stored, JSON.stringify(b));
  }
  assert.is(r.headlineVps, 16);
  assert.equal(r.scalingPair, [16, 2]);
  assert.equal(r.ratios, benchRatios(r));
  assert.is(r.ratios.bytesPerVp.value, r.bytes[1]!.logical / 16);
  assert.is(r.incrementalRuns.length, 1);
  assert.ok(r.ratios.incremental.value! > 0 && r.ratios.incremental.value! < 1, String(r.ratios.incremental.value));
  assert.equal([r.ratios.cliStart.value, r.ratios.cliLs.value, r.ratios.workers2Vs1.value, r.propRunsPerSecond], [null, null, null, null]);
  assert.ok(r.machine.cores > 0 && r.machine.node.startsWith('v'));
  // What --json prints survives JSON, with the fixed ratio names.
  const back = JSON.parse(JSON.stringify(r)) as { cases: unknown[]; ratios: Record<string, { met: unknown; goal: unknown }> };
  assert.is(back.cases.length, r.cases.length);
  assert.equal(Object.keys(back.ratios), [...RATIO_NAMES]);
  for (const n of RATIO_NAMES) assert.ok(typeof back.ratios[n]!.met === 'boolean' && typeof back.ratios[n]!.goal === 'number', n);

  const svg = benchSvg(r.cases);
  assert.ok(svg.startsWith('<svg') && svg.trimEnd().endsWith('</svg>'));
  for (const s of BENCH_STAGES) assert.ok(svg.includes(`>${s}</text>`), s);
  assert.is((svg.match(/<polyline/g) ?? []).length, BENCH_STAGES.length);
  const text = renderBench(r);
  for (const n of RATIO_NAMES) assert.ok(text.includes(n), n);
  assert.ok(text.includes('16 VPs') && text.includes('jsonCycle'), text);
  assert.not.ok(text.includes('restore-proves:'), 'no throughput line when it was not measured');
  const withProp = renderBench({ ...r, propRunsPerSecond: { one: 31.25, two: 50, cores: { one: 0.96, two: 1.5 } } });
  assert.ok(withProp.includes('restore-proves: 31.3 runs/s with 1 worker on 0.96 cores, 50.0 with 2 on 1.50 (CPU ÷ wall)'), withProp);
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
