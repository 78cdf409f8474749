import type { Command } from 'commander';
import { igvmCommand } from './igvm.ts';
import { checkOutput, configFrom, matching, writeOutput, type ConfigOptions } from './io.ts';
import { action, printJson } from './run.ts';

/** `hclckpt igvm build`: the OpenHCL IGVM package for a config file or preset. */
export function register(program: Command): void {
  igvmCommand(program)
    .command('build')
    .description('build the OpenHCL IGVM package (shim, kernel, sidecar, initrd, parameter region) for a VM configuration')
    .option('--config <file>', 'VM configuration (JSON)')
    .option('--preset <name>', 'use a preset instead of --config (default small)')
    .option('--usermode-version <v>', 'version carried by /bin/openvmm_hcl in the initrd (letters, digits, . _ + -; at most 64)', matching('igvm build --usermode-version', /^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$/, 'a version of letters, digits and . _ + - (at most 64)'))
    .requiredOption('-o, --output <file>', 'the IGVM file to write (a new file, or --force)')
    .option('--force', 'overwrite an existing --output file')
    .option('--json', 'print a summary as JSON')
    .action(
      action(async (opts: ConfigOptions & { usermodeVersion?: string; output: string; force?: boolean; json?: boolean }) => {
        const { buildPackage, packageOptionsFor, DEFAULT_USERMODE_VERSION } = await import('../../lib/host/index.ts');
        const { sha256Hex } = await import('../../lib/bytes/index.ts');
        await checkOutput(opts.output, opts.force === true);
        const config = await configFrom(opts);
        const pkgOpts = packageOptionsFor(config, opts.usermodeVersion ?? DEFAULT_USERMODE_VERSION);
        const bytes = buildPackage(pkgOpts);
        await writeOutput(opts.output, bytes, opts.force === true);
        const summary = { file: opts.output, bytes: bytes.length, sha256: sha256Hex(bytes), arch: pkgOpts.arch, usermodeVersion: pkgOpts.usermodeVersion };
        if (opts.json === true) await printJson(summary);
        else process.stdout.write(`wrote ${summary.file}: ${summary.bytes} bytes, ${summary.arch}, usermode ${summary.usermodeVersion}, sha256 ${summary.sha256.slice(0, 16)}\n`);
      }),
    );
}
