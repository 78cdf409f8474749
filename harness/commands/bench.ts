import type { Command } from 'commander';
import { action, printJson } from './run.ts';

/** `bench`: hclckpt against raw primitives and JSON files, at several VP counts. */
export function register(program: Command): void {
  program.command('bench')
    .description('time boot, save, restore and a save+restore cycle at 4..2048 VPs against raw and JSON baselines')
    .option('--quick', 'fewer repetitions, no 2048-VP case (scaling from 512 ÷ 8 × 64)')
    .option('--json', 'print {cases, ratios, goals, machine, ...} as JSON')
    .option('--plot <file.svg>', 'write time against VP count per stage as SVG')
    .action(action(async (opts: { quick?: boolean; json?: boolean; plot?: string }) => {
      const { benchOptions, runBench } = await import('../bench/bench.ts');
      const { renderBench } = await import('../bench/report.ts');
      const r = await runBench(benchOptions(opts.quick === true, (line) => process.stderr.write(`${line}\n`)));
      if (opts.plot !== undefined) {
        const { writeFile } = await import('node:fs/promises');
        const { benchSvg } = await import('../bench/plot.ts');
        await writeFile(opts.plot, benchSvg(r.cases));
      }
      if (opts.json === true) printJson(r);
      else process.stdout.write(renderBench(r));
    }));
}
