import type { Command } from 'commander';
import { HclError } from '../../lib/errors.ts';
import { action, printJson } from './run.ts';

/**
 * `hclckpt kernel setup | check`: the real-kernel check. `setup` installs qemu and fetches a
 * Debian arm64 kernel (cached); `check` boots a kernel DTB on it and reports every difference.
 */
export function register(program: Command): void {
  const kernel = program.command('kernel').description('check kernel DTBs against a real Linux arm64 kernel under qemu');

  kernel
    .command('setup')
    .description('install qemu/dtc via apt, fetch the Debian arm64 cloud kernel and busybox, build the initramfs (cached)')
    .option('--json', 'print the assets and step timings as JSON')
    .action(
      action(async (opts: { json?: boolean }) => {
        const { setupKernel } = await import('../../lib/realkernel/index.ts');
        const quiet = opts.json === true;
        const r = await setupKernel({ log: (l) => quiet || process.stderr.write(`${l}\n`) });
        if (quiet) return printJson(r);
        for (const s of r.steps) process.stdout.write(`${s.skipped ? 'skipped' : `${(s.ms / 1000).toFixed(1)} s`.padStart(7)}  ${s.name}\n`);
        process.stdout.write(`${r.cached ? 'already set up' : 'ready'}: ${r.assets.kernelPackage} in ${r.assets.dir}\n`);
      }),
    );

  kernel
    .command('check')
    .description('boot a kernel DTB on Linux arm64 under qemu and compare what the kernel reports')
    .option('--dtb <file>', 'the kernel DTB to boot (machine shape is read from it)')
    .option('--json', 'print the result as JSON')
    .option('--keep <dir>', 'keep the DTB, qemu argv, serial log and real FDT in DIR')
    .option('--timeout <ms>', 'boot timeout in milliseconds', '120000')
    .action(
      action(async (opts: { dtb?: string; json?: boolean; keep?: string; timeout: string }) => {
        if (opts.dtb === undefined) throw new HclError('USAGE', 'kernel check: --dtb FILE is required');
        const timeoutMs = Number(opts.timeout);
        if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new HclError('USAGE', `kernel check: --timeout ${opts.timeout} is not a positive integer`);
        const rk = await import('../../lib/realkernel/index.ts');
        const dtb = rk.readDtbFile(opts.dtb);
        const r = await rk.runCheck({ dtb, timeoutMs, ...(opts.keep === undefined ? {} : { keep: opts.keep }) });
        const summary = {
          ok: r.differences.length === 0,
          bootMs: r.bootMs,
          cmdline: r.report.cmdline,
          cpu: r.report.cpu,
          nodes: r.report.nodes.map((n) => ({ id: n.id, cpulist: n.cpulist, distance: n.distance, memTotalKb: n.memTotalKb, pages: n.pages })),
          differences: r.differences,
        };
        if (opts.json === true) printJson(summary);
        else {
          process.stdout.write(`booted ${opts.dtb} in ${(r.bootMs / 1000).toFixed(1)} s: cpus online ${r.report.cpu.online.trim()}, ${r.report.nodes.length} node(s)\n`);
          if (r.differences.length > 0) process.stdout.write(`${rk.formatDifferences(r.differences)}\n`);
        }
        if (r.differences.length > 0) {
          throw new HclError('KERNEL_CHECK_FAILED', `kernel check of ${opts.dtb}: ${r.differences.length} difference(s) from the real kernel`, { details: { differences: r.differences } });
        }
        if (opts.json !== true) process.stdout.write('no differences\n');
      }),
    );
}
