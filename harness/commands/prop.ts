import type { Command } from 'commander';
import { HclError } from '../../lib/errors.ts';
import { intArg, refuseTogether } from './io.ts';
import { action, printJson } from './run.ts';
import { storeOption, withStore, type StoreOptions } from './store.ts';

type PropOptions = StoreOptions & {
  runs?: number; seed?: number; only?: string; workers?: number; json?: boolean; list?: boolean; replay?: string; maxVps?: number;
  shard?: { index: number; count: number }; merge?: string[];
};

/** `--shard I/N`: 1 <= I <= N. */
function shardOf(v: string): { index: number; count: number } {
  const m = /^(\d{1,9})\/(\d{1,9})$/.exec(v);
  const [index, count] = m === null ? [0, 0] : [Number(m[1]), Number(m[2])];
  if (index < 1 || index > count) throw new HclError('USAGE', `prop --shard ${JSON.stringify(v)}: expected I/N with 1 <= I <= N`);
  return { index, count };
}

/** `prop`: run the named properties, list recorded runs, replay one (DESIGN.md §6). */
export function register(program: Command): void {
  storeOption(program.command('prop').description('run the property suite (or one property), record each run, list or replay recorded runs'))
    .option('--runs <n>', 'runs per property (default: each property\'s own count)', intArg('prop --runs', 1))
    .option('--seed <s>', 'fast-check seed, a 32-bit integer (default: random, recorded)', intArg('prop --seed', -(2 ** 31), 2 ** 31 - 1))
    .option('--only <name>', 'run only this property')
    .option('--workers <n>', 'worker threads to spread runs over, 1-256 (default 1)', intArg('prop --workers', 1, 256))
    .option('--max-vps <n>', 'VP cap for properties that boot VMs, 1-2048 (default $HCLCKPT_PROP_MAXVPS or 64)', intArg('prop --max-vps', 1, 2048))
    .option('--shard <I/N>', 'run only slice I of N of this run (by property and seed; needs --seed, the same on every shard)', shardOf)
    .option('--merge <store...>', 'gather the run records of these stores (one per shard) into --store and report the merged runs (takes no run options)')
    .option('--list', 'show recorded runs (takes no run options)')
    .option('--replay <id>', 'replay a recorded run from its seed and path and show the counterexample (takes no run options)')
    .option('--json', 'print run records as JSON')
    .action(action(async (opts: PropOptions) => {
      const runOptions = opts.only !== undefined || opts.runs !== undefined || opts.seed !== undefined || opts.workers !== undefined || opts.maxVps !== undefined || opts.shard !== undefined;
      refuseTogether('prop', {
        '--list': opts.list === true, '--replay': opts.replay !== undefined, '--merge': opts.merge !== undefined, '--only/--runs/--seed/--workers/--max-vps/--shard': runOptions,
      });
      const prop = await import('../../properties/runner.ts');
      if (opts.list === true) {
        const { listRuns } = await import('../../properties/records.ts');
        const runs = await withStore(opts, (s) => listRuns(s), { readOnly: true });
        const records = runs.map((r) => r.record as import('../../properties/runner.ts').PropRunRecord);
        if (opts.json === true) return printJson(records);
        const { default: Table } = await import('cli-table3');
        const { useColour } = await import('./colour.ts');
        const plain = !useColour();
        const table = new Table({ head: ['id', 'time', 'property', 'runs', 'result', 'seed', 'path'], ...(plain ? { style: { head: [], border: [] } } : {}) });
        for (const r of records) table.push([r.id, r.time, r.property, r.runs, r.result, r.seed, r.path ?? '']);
        process.stdout.write(`${table.toString()}\n`);
        return;
      }
      if (opts.merge !== undefined) return mergeStores(opts, opts.merge);
      if (opts.replay !== undefined) {
        const ref = opts.replay;
        const record = await withStore(opts, (s) => prop.findRun(s, ref), { readOnly: true });
        // The run was recorded with a planted defect; say so, or a replay failure looks like a real bug.
        if (record.seam !== null) process.stderr.write(`hclckpt: note: replay re-plants the recorded test seam ${record.seam}\n`);
        const again = await prop.replayRecord(record);
        const same = again.counterexample === record.counterexample;
        if (opts.json === true) await printJson({ record, replay: again, sameCounterexample: same });
        else {
          process.stdout.write(`${record.property}: recorded ${record.result}, replay ${again.failed ? 'failed' : 'passed'} (seed ${record.seed}, path ${record.path ?? '-'})\n`);
          if (again.counterexample !== null) process.stdout.write(`counterexample: ${again.counterexample}\n${again.error ?? ''}\n`);
          if (record.counterexample !== null && !same) process.stdout.write(`recorded counterexample differs: ${record.counterexample}\n`);
        }
        if (again.failed) throw new HclError('PROPERTY_FAILED', `replay ${record.id}: ${record.property} still fails`);
        return;
      }
      const bar = await progressBar(opts.json !== true);
      const records = await prop.runProperties({
        only: opts.only, runs: opts.runs, seed: opts.seed, workers: opts.workers ?? 1, maxVps: opts.maxVps ?? prop.defaultMaxVps(),
        onProgress: bar.update, ...(opts.shard === undefined ? {} : { shard: opts.shard }),
      });
      bar.stop();
      await withStore(opts, (s) => prop.recordRuns(s, records));
      if (opts.json === true) await printJson(records);
      const failed = records.filter((r) => r.result === 'failed');
      if (opts.json !== true) {
        for (const r of records) {
          const rate = r.ms > 0 ? ` (${r.runsPerSecond.toFixed(1)} runs/s)` : '';
          process.stdout.write(`${r.result === 'passed' ? 'ok  ' : 'FAIL'} ${r.property}: ${r.runs} runs in ${r.ms} ms${rate}, seed ${r.seed}, id ${r.id}\n`);
          if (r.result === 'failed') process.stdout.write(`     counterexample: ${r.counterexample ?? ''}\n     ${r.error ?? ''}\n`);
        }
      }
      for (const r of failed) {
        const store = opts.store === undefined ? '' : ` --store ${JSON.stringify(opts.store)}`;
        process.stderr.write(`replay with: hclckpt prop --replay ${r.id}${store}\n`);
      }
      if (failed.length > 0) throw new HclError('PROPERTY_FAILED', `prop: ${failed.map((r) => r.property).join(', ')} failed`);
    }));
}

/** `prop --merge`: every source store's run records into the target store, then one report of the merged runs. */
async function mergeStores(opts: PropOptions, sources: string[]): Promise<void> {
  const { resolve } = await import('node:path');
  const { copyRuns, mergeRecords } = await import('../../properties/merge.ts');
  const { resolveStoreDir } = await import('./store.ts');
  const target = resolveStoreDir(opts);
  if (target !== undefined && sources.some((s) => resolve(s) === resolve(target))) throw new HclError('USAGE', `prop --merge: ${target} is both a source and the target (--store)`);
  const records = await withStore(opts, async (into) => {
    const all = [];
    for (const src of sources) all.push(...(await withStore({ ...opts, store: src }, (from) => copyRuns(from, into), { readOnly: true })));
    return all;
  });
  const runs = mergeRecords(records);
  if (opts.json === true) await printJson({ copied: records.length, runs });
  else {
    process.stdout.write(`merged ${records.length} run records from ${sources.length} stores\n`);
    for (const r of runs) {
      const missing = r.missing.length === 0 ? '' : `, missing shards ${r.missing.join(', ')}`;
      process.stdout.write(`${r.result === 'passed' ? 'ok  ' : r.result === 'failed' ? 'FAIL' : 'PART'} ${r.property}: ${r.runs}/${r.requestedRuns} runs, seed ${r.runSeed}, shards ${r.shards.length}/${r.shardCount}${missing}, ${r.runsPerSecond.toFixed(1)} runs/s\n`);
    }
  }
  const store = opts.store === undefined ? '' : ` --store ${JSON.stringify(opts.store)}`;
  for (const f of runs.flatMap((r) => r.failures)) process.stderr.write(`replay with: hclckpt prop --replay ${f.id}${store}\n`);
  const bad = runs.filter((r) => r.result !== 'passed');
  if (bad.some((r) => r.result === 'failed')) throw new HclError('PROPERTY_FAILED', `prop --merge: ${bad.filter((r) => r.result === 'failed').map((r) => r.property).join(', ')} failed`);
  if (bad.length > 0) throw new HclError('CHECK_FAILED', `prop --merge: ${bad.map((r) => `${r.property} misses shards ${r.missing.join(', ')}`).join('; ')}`);
}

/** A cli-progress bar on stderr when it is a TTY; otherwise a no-op. */
async function progressBar(wanted: boolean): Promise<{ update: (property: string, done: number, total: number) => void; stop: () => void }> {
  if (!wanted || process.stderr.isTTY !== true) return { update: () => undefined, stop: () => undefined };
  const { default: progress } = await import('cli-progress');
  const bar = new progress.SingleBar({ stream: process.stderr, format: '{property} [{bar}] {value}/{total}', clearOnComplete: true }, progress.Presets.shades_classic);
  let current = '';
  return {
    update: (property, done, total) => {
      if (property !== current) {
        if (current !== '') bar.stop();
        bar.start(total, 0, { property });
        current = property;
      }
      bar.update(Math.min(done, total), { property });
    },
    stop: () => bar.stop(),
  };
}
