import type { Command } from 'commander';
import { refuseIgnored, writeOutput } from './io.ts';
import { action, printJson } from './run.ts';

/** `hclckpt init`: writes a preset VmConfig to a file, refusing to overwrite without --force. */
export function register(program: Command): void {
  program
    .command('init')
    .description('write a VM configuration from a preset')
    .option('--preset <name>', 'small, numa, large, arm64-virt or snp', 'small')
    .option('-o, --output <file>', 'where to write the configuration ("-" for stdout; a new file, or --force)', 'vm.json')
    .option('--force', 'overwrite an existing file')
    .option('--json', 'print what was written as JSON')
    .action(
      action(async (opts: { preset: string; output: string; force?: boolean; json?: boolean }) => {
        const { presetConfig } = await import('../../lib/config/index.ts');
        refuseIgnored('init', '--force', opts.force === true, 'a file --output (not -)', opts.output !== '-');
        refuseIgnored('init', '--json', opts.json === true, 'a file --output (-o - prints the configuration itself)', opts.output !== '-');
        const config = presetConfig(opts.preset);
        const text = `${JSON.stringify(config, null, 2)}\n`;
        if (opts.output === '-') return void process.stdout.write(text);
        await writeOutput(opts.output, text, opts.force === true);
        const summary = { file: opts.output, preset: opts.preset, arch: config.arch, vps: config.vps.length, nodes: config.numa.length };
        if (opts.json === true) await printJson(summary);
        else process.stdout.write(`wrote ${summary.file}: preset ${summary.preset} (${summary.arch}, ${summary.vps} VPs, ${summary.nodes} node${summary.nodes === 1 ? '' : 's'})\n`);
      }),
    );
}
