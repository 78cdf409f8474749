import type { Command } from 'commander';
import { igvmCommand } from './igvm.ts';
import { action, printJson } from './run.ts';

/** `hclckpt igvm build`: the OpenHCL IGVM package for a config file or preset. */
export function register(program: Command): void {
  igvmCommand(program)
    .command('build')
    .description('build the OpenHCL IGVM package (shim, kernel, sidecar, initrd, parameter region) for a VM configuration')
    .option('--config <file>', 'VM configuration (JSON)')
    .option('--preset <name>', 'use a preset instead of --config')
    .option('--usermode-version <v>', 'version carried by /bin/openvmm_hcl in the initrd')
    .requiredOption('-o, --output <file>', 'the IGVM file to write')
    .option('--json', 'print a summary as JSON')
    .action(
      action(async (opts: { config?: string; preset?: string; usermodeVersion?: string; output: string; json?: boolean }) => {
        const { HclError } = await import('../../lib/errors.ts');
        const { loadConfig, presetConfig } = await import('../../lib/config/index.ts');
        const { buildPackage, packageOptionsFor, DEFAULT_USERMODE_VERSION } = await import('../../lib/host/index.ts');
        const { sha256Hex } = await import('../../lib/bytes/index.ts');
        const { writeFile } = await import('node:fs/promises');
        if (opts.config !== undefined && opts.preset !== undefined) throw new HclError('USAGE', 'igvm build: give --config or --preset, not both');
        const config = opts.config !== undefined ? await loadConfig(opts.config) : presetConfig(opts.preset ?? 'small');
        const pkgOpts = packageOptionsFor(config, opts.usermodeVersion ?? DEFAULT_USERMODE_VERSION);
        const bytes = buildPackage(pkgOpts);
        try {
          await writeFile(opts.output, bytes);
        } catch (e) {
          throw new HclError('FILE_IO', `${opts.output}: cannot write: ${(e as Error).message}`, { cause: e });
        }
        const summary = { file: opts.output, bytes: bytes.length, sha256: sha256Hex(bytes), arch: pkgOpts.arch, usermodeVersion: pkgOpts.usermodeVersion };
        if (opts.json === true) printJson(summary);
        else process.stdout.write(`wrote ${summary.file}: ${summary.bytes} bytes, ${summary.arch}, usermode ${summary.usermodeVersion}, sha256 ${summary.sha256.slice(0, 16)}\n`);
      }),
    );
}
