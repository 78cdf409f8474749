import type { Command } from 'commander';
import { checkOutput, refuseIgnored, writeOutput } from './io.ts';
import { action, printJson } from './run.ts';

/** `bench`: hclckpt against raw primitives and JSON files, at several VP counts. */
export function register(program: Command): void {
  program.command('bench')
    .description('time boot, save, restore and a save+restore cycle at 4..2048 VPs against raw and JSON baselines')
    .option('--quick', 'fewer repetitions, no 2048-VP case (scaling from 512 ÷ 8 × 64)')
    .option('--json', 'print {cases, ratios, goals, machine, ...} as JSON')
    .option('--plot <file.svg>', 'write time against VP count per stage as SVG (a new file, or --force)')
    .option('--force', 'overwrite an existing --plot file')
    .action(action(async (opts: { quick?: boolean; json?: boolean; plot?: string; force?: boolean }) => {
      refuseIgnored('bench', '--force', opts.force === true, '--plot', opts.plot !== undefined);
      if (opts.plot !== undefined) await checkOutput(opts.plot, opts.force === true);
      const { benchOptions, runBench } = await import('../bench/bench.ts');
      const { renderBench } = await import('../bench/report.ts');
      const r = await runBench(benchOptions(opts.quick === true, (line) => process.stderr.write(`${line}\n`)));
      if (opts.plot !== undefined) {
        const { benchSvg } = await import('../bench/plot.ts');
        await writeOutput(opts.plot, benchSvg(r.cases), opts.force === true);
      }
      if (opts.json === true) await printJson(r);
      else process.stdout.write(renderBench(r));
    }));
}
