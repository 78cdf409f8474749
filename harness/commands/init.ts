import type { Command } from 'commander';
import { action, printJson } from './run.ts';

/** `hclckpt init`: writes a preset VmConfig to a file, refusing to overwrite without --force. */
export function register(program: Command): void {
  program
    .command('init')
    .description('write a VM configuration from a preset')
    .option('--preset <name>', 'small, numa, large, arm64-virt or snp', 'small')
    .option('-o, --output <file>', 'where to write the configuration ("-" for stdout)', 'vm.json')
    .option('--force', 'overwrite an existing file')
    .option('--json', 'print what was written as JSON')
    .action(
      action(async (opts: { preset: string; output: string; force?: boolean; json?: boolean }) => {
        const { presetConfig } = await import('../../lib/config/index.ts');
        const { writeFile } = await import('node:fs/promises');
        const { HclError } = await import('../../lib/errors.ts');
        const config = presetConfig(opts.preset);
        const text = `${JSON.stringify(config, null, 2)}\n`;
        if (opts.output === '-') return void process.stdout.write(text);
        try {
          await writeFile(opts.output, text, { flag: opts.force === true ? 'w' : 'wx' });
        } catch (e) {
          const code = (e as { code?: unknown }).code;
          if (code === 'EEXIST') throw new HclError('FILE_EXISTS', `${opts.output}: already exists (use --force to overwrite)`, { cause: e });
          throw new HclError('FILE_IO', `${opts.output}: cannot write: ${(e as Error).message}`, { cause: e });
        }
        const summary = { file: opts.output, preset: opts.preset, arch: config.arch, vps: config.vps.length, nodes: config.numa.length };
        if (opts.json === true) printJson(summary);
        else process.stdout.write(`wrote ${summary.file}: preset ${summary.preset} (${summary.arch}, ${summary.vps} VPs, ${summary.nodes} node${summary.nodes === 1 ? '' : 's'})\n`);
      }),
    );
}
