import type { Command } from 'commander';
import { HclError } from '../../lib/errors.ts';
import type { Difference } from '../realkernel/index.ts';
import { checkOutput, collect, configFrom, fdtMagic, positiveArg, readInput } from './io.ts';
import { action, printJson } from './run.ts';
import { storeOption, withStore, type StoreOptions } from './store.ts';

/**
 * `hclckpt kernel setup | check`: the real-kernel check. `setup` installs qemu and fetches a
 * Debian arm64 kernel (cached); `check` boots a VM's kernel DTB (or any DTB) on it under qemu
 * and reports every difference from what hclckpt's kernel stage produced.
 */

interface CheckOptions extends StoreOptions {
  dtb?: string;
  config?: string;
  preset?: string;
  snapshot?: string;
  set: string[];
  json?: boolean;
  keep?: string;
  timeout: number;
}

/** Refuses contradictory options; returns the timeout in milliseconds. */
function usage(opts: CheckOptions): number {
  const sources = [opts.dtb, opts.config ?? opts.preset, opts.snapshot].filter((x) => x !== undefined);
  if (opts.config !== undefined && opts.preset !== undefined) throw new HclError('USAGE', 'kernel check: give --config or --preset, not both');
  if (opts.dtb !== undefined && sources.length > 1) throw new HclError('USAGE', 'kernel check: --dtb boots a file on its own; it takes no --config, --preset or --snapshot');
  if (opts.preset !== undefined && opts.snapshot !== undefined) throw new HclError('USAGE', 'kernel check: --snapshot restores the saved config; use --config FILE for a whole new one, not --preset');
  if (opts.set.length > 0 && opts.snapshot === undefined) throw new HclError('USAGE', 'kernel check: --set applies to a restore; give --snapshot REF');
  return Math.round(opts.timeout * 1000);
}

async function checkDtbFile(file: string, opts: CheckOptions, timeoutMs: number): Promise<void> {
  const rk = await import('../realkernel/index.ts');
  const r = await rk.runCheck({ dtb: await readInput(file, { magic: await fdtMagic() }), timeoutMs, ...(opts.keep === undefined ? {} : { keep: opts.keep }) });
  if (opts.json === true) await printJson({ ok: r.differences.length === 0, bootMs: r.bootMs, cmdline: r.report.cmdline, cpu: r.report.cpu, nodes: r.report.nodes.map(({ meminfo: _m, ...n }) => n), qemu: r.argv, differences: r.differences });
  else process.stdout.write(`booted ${file} in ${(r.bootMs / 1000).toFixed(1)} s: cpus online ${r.report.cpu.online.trim()}, ${r.report.nodes.length} node(s)\n`);
  finish(`kernel check of ${file}`, r.differences, opts, rk.formatDifferences);
}

/** Lists the differences (text mode) and fails with KERNEL_CHECK_FAILED, or says there are none. */
function finish(what: string, differences: Difference[], opts: CheckOptions, format: (d: Difference[]) => string): void {
  if (differences.length > 0) {
    if (opts.json !== true) process.stdout.write(`${format(differences)}\n`);
    throw new HclError('KERNEL_CHECK_FAILED', `${what}: ${differences.length} difference(s) from the real kernel: ${differences.map((d) => d.path).join(', ')}`, { context: { differences } });
  }
  if (opts.json !== true) process.stdout.write('no differences\n');
}

async function checkPipeline(opts: CheckOptions, timeoutMs: number): Promise<void> {
  const rk = await import('../realkernel/index.ts');
  let vm;
  let what: string;
  if (opts.snapshot !== undefined) {
    const { restoreSnapshot } = await import('../servicing.ts');
    const config = opts.config === undefined ? {} : { config: await configFrom({ config: opts.config }) };
    const ref = opts.snapshot;
    const restored = await withStore(opts, (s) => restoreSnapshot(s, ref, { sets: opts.set, ...config }), { readOnly: true });
    vm = restored.vm;
    what = `kernel check of the restore of ${restored.from.slice(0, 12)}`;
  } else {
    const config = await configFrom(opts, 'arm64-virt');
    rk.requireAarch64(config); // before the pipeline runs: refusing an x86 config should not cost a boot
    const { boot } = await import('../pipeline.ts');
    vm = boot(config);
    what = `kernel check of ${config.name}`;
  }
  // After a restore the real kernel must also show the (possibly changed) host command line.
  const expect = opts.snapshot === undefined || vm.config.cmdline.host === '' ? {} : { expectInCmdline: vm.config.cmdline.host };
  const r = await rk.checkVm(vm, { timeoutMs, ...expect, ...(opts.keep === undefined ? {} : { keep: opts.keep }) });
  if (opts.json === true) await printJson({ config: vm.config.name, ...(opts.snapshot === undefined ? {} : { snapshot: opts.snapshot }), ...rk.comparisonJson(r, vm.kernel.procfs) });
  else {
    const nodes = r.report.nodes.map((n) => `node${n.id} ${n.cpulist.trim() || '-'}`).join(', ');
    process.stdout.write(`${what}: booted in ${(r.bootMs / 1000).toFixed(1)} s: cpus online ${r.report.cpu.online.trim()}; ${nodes}\n`);
  }
  finish(what, r.differences, opts, rk.formatDifferences);
}

/** Registers `kernel setup` and `kernel check`. */
export function register(program: Command): void {
  const kernel = program.command('kernel').description('check kernel DTBs against a real Linux arm64 kernel under qemu');

  kernel
    .command('setup')
    .description('install qemu/dtc via apt, fetch the Debian arm64 cloud kernel and busybox, build the initramfs (cached)')
    .option('--json', 'print the assets and step timings as JSON')
    .action(
      action(async (opts: { json?: boolean }) => {
        const { setupKernel } = await import('../realkernel/index.ts');
        const quiet = opts.json === true;
        const r = await setupKernel({ log: (l) => quiet || process.stderr.write(`${l}\n`) });
        if (quiet) return printJson(r);
        for (const s of r.steps) process.stdout.write(`${s.skipped ? 'skipped' : `${(s.ms / 1000).toFixed(1)} s`.padStart(7)}  ${s.name}\n`);
        process.stdout.write(`${r.cached ? 'already set up' : 'ready'}: ${r.assets.kernelPackage} in ${r.assets.dir}\n`);
      }),
    );

  storeOption(
    kernel
      .command('check')
      .description('boot the kernel DTB of an aarch64 VM (config, preset, restored snapshot, or a DTB file) on Linux arm64 under qemu and compare with the model')
      .option('--config <file>', 'aarch64 VM configuration JSON')
      .option('--preset <name>', 'an aarch64 preset (default arm64-virt)')
      .option('--snapshot <ref>', 'check the pipeline of a restore of this snapshot')
      .option('--set <key=value>', 'with --snapshot: override a config path for the restore (repeatable)', collect, [])
      .option('--dtb <file>', 'boot this DTB on its own (machine shape read from it; no model)')
      .option('--json', 'print the full comparison as JSON')
      .option('--keep <dir>', 'keep the DTB, qemu argv, serial log and real FDT in DIR (new or an existing directory)')
      .option('--timeout <s>', 'boot timeout in seconds', positiveArg('kernel check --timeout'), 120),
  ).action(
    action(async (opts: CheckOptions) => {
      const timeoutMs = usage(opts);
      if (opts.keep !== undefined) await checkOutput(opts.keep, true, 'directory');
      if (opts.dtb !== undefined) await checkDtbFile(opts.dtb, opts, timeoutMs);
      else await checkPipeline(opts, timeoutMs);
    }),
  );
}
