import type { Command } from 'commander';
import { action, printJson, progress, writeChunks } from './run.ts';
import { checkOutput, collect, configFrom, configOptions, igvmMagic, intArg, oneOf, readInput, refuseIgnored, refuseTogether, writeOutput, writeTree, type ConfigOptions } from './io.ts';
import { storeOption, withStore, formatBytes, reportRepairs, type StoreOptions } from './store.ts';
import { MAX_STEPS } from '../workload.ts';

type Json = { json?: boolean };

const BOOT_VIEWS = ['topology', 'cmdline', 'dt', 'procfs'] as const;

/** Prints the outcome a failed save or restore stands for on stdout (a line, or `{...head, outcome, error}` with --json); the error line follows. */
async function printOutcome(e: unknown, json: boolean, head: Record<string, unknown>, line: string, outcome: { layer: string; kind: string }): Promise<void> {
  const error = { code: (e as { code: string }).code, message: (e as Error).message };
  if (json) await printJson({ ...head, outcome, error });
  else await writeChunks(process.stdout, [`${line}\n`]);
}

/** `boot`, `save`, `restore`, `cycle`, `show`: the VM lifecycle commands (DESIGN.md §6). */
export function register(program: Command): void {
  configOptions(program.command('boot').description('boot a VM through every stage and show what each produced'))
    .option('--show <what>', 'topology, cmdline, dt or procfs (default topology)', oneOf('boot --show', BOOT_VIEWS))
    .option('--dtb-out <file>', 'write the kernel DTB the shim produced (a new file, or --force)')
    .option('--host-dtb-out <file>', 'write the host DTB the host produced (a new file, or --force)')
    .option('--procfs-out <dir>', 'write the kernel ProcFs as a directory tree (a new dir, or --force)')
    .option('--force', 'overwrite existing output files / write into an existing directory')
    .option('--json', 'print {topology, cmdline, bootCpus, stages} as JSON (not with --show)')
    .action(action(async (opts: ConfigOptions & Json & { show?: string; dtbOut?: string; hostDtbOut?: string; procfsOut?: string; force?: boolean }) => {
      refuseTogether('boot', { '--json': opts.json === true, '--show': opts.show !== undefined });
      const force = opts.force === true;
      refuseIgnored('boot', '--force', force, '--dtb-out, --host-dtb-out or --procfs-out', [opts.dtbOut, opts.hostDtbOut, opts.procfsOut].some((x) => x !== undefined));
      for (const f of [opts.dtbOut, opts.hostDtbOut]) if (f !== undefined) await checkOutput(f, force);
      if (opts.procfsOut !== undefined) await checkOutput(opts.procfsOut, force, 'directory');
      const { bootReport, bootOutputs, renderBoot } = await import('../view/vmview.ts');
      const { boot } = await import('../pipeline.ts');
      const vm = boot(await configFrom(opts));
      const { files, tree } = bootOutputs(vm, opts);
      for (const [f, bytes] of files) await writeOutput(f, bytes, force);
      if (opts.procfsOut !== undefined) await writeTree(opts.procfsOut, tree, force);
      if (opts.json === true) return printJson(bootReport(vm));
      await writeChunks(process.stdout, [renderBoot(vm, opts.show ?? 'topology')]);
    }));

  storeOption(configOptions(program.command('save').description('boot, run a workload and save a snapshot')))
    .option('--workload <seed:steps>', `deterministic guest activity before the save (seed a u32, steps up to ${MAX_STEPS})`, '1:100')
    .option('--name <name>', 'snapshot name (default: the VM name)')
    .option('--generation <n>', 'write an older saved-state generation (servicing back to an older release)', intArg('save --generation', 1))
    .option('--timeout-hint <ms>', "the host's servicing timeout hint, ms (default 30000; 65535 s or more means 200 s); a save past it is fatal", intArg('save --timeout-hint', 1))
    .option('--json', 'print {id, name, seq, bytes, newBytes, units} as JSON')
    .action(action(async (opts: ConfigOptions & StoreOptions & Json & { workload: string; name?: string; generation?: number; timeoutHint?: number }) => {
      const { parseWorkload } = await import('../workload.ts');
      const { bootWithWorkload, failedSaveOutcome, saveVm } = await import('../servicing.ts');
      const workload = parseWorkload(opts.workload);
      const vm = bootWithWorkload(await configFrom(opts), workload);
      const r = await withStore(opts, (s) => saveVm(vm, s, {
        workload, generation: opts.generation ?? null, ...(opts.name === undefined ? {} : { name: opts.name }), ...(opts.timeoutHint === undefined ? {} : { timeoutMs: opts.timeoutHint }),
      })).catch(async (e: unknown) => {
        // A save OpenHCL would not survive (its watchdog panics): say which layer ended it, then the error line.
        const outcome = failedSaveOutcome(e);
        if (outcome !== undefined) await printOutcome(e, opts.json === true, {}, `save: outcome ${outcome.kind} (${outcome.layer}): the vm is dead, nothing was saved`, outcome);
        throw e;
      });
      reportRepairs(r.repairedBlobs);
      if (opts.json === true) return printJson(r);
      process.stdout.write(`${r.name}@${r.seq} ${r.id.slice(0, 12)} (${formatBytes(r.bytes)}, ${formatBytes(r.newBytes)} new)\n`);
    }));

  storeOption(program.command('restore').description('restore a snapshot with updated host parameters and prove it').argument('<ref>', 'snapshot id prefix, NAME or NAME@N'))
    .option('--set <key=value>', 'override a config path (repeatable): cmdline.host=…, sidecar=off, …', collect, [])
    .option('--config <file>', 'restore against a whole new host configuration')
    .option('--igvm <file>', 'service to another IGVM package')
    .option('--workload <seed:steps>', 'run guest activity after the restore (as save --workload)')
    .option('--save', 'save the restored VM as a new snapshot (parent: the restored one)')
    .option('--accept-inconsistent', 'exit 0 even when the consistency oracle finds inconsistencies')
    .option('--verbose', 'list every expected difference, not a count per kind')
    .option('--json', 'print {id, from, outcome, topologyConsistent, inconsistencies, proof, overrides, cmdline} as JSON')
    .action(action(async (ref: string, opts: StoreOptions & Json & { set: string[]; config?: string; igvm?: string; workload?: string; save?: boolean; verbose?: boolean; acceptInconsistent?: boolean }) => {
      refuseTogether('restore', { '--json': opts.json === true, '--verbose': opts.verbose === true });
      const { runRestore, renderRestore } = await import('../view/vmview.ts');
      const restoreOpts = {
        sets: opts.set,
        ...(opts.config === undefined ? {} : { config: await configFrom({ config: opts.config }) }),
        ...(opts.igvm === undefined ? {} : { igvm: await readInput(opts.igvm, { magic: await igvmMagic() }) }),
      };
      const out = await withStore(opts, (s) => runRestore(s, ref, restoreOpts, { workload: opts.workload, save: opts.save === true }), { readOnly: opts.save !== true }).catch(async (e: unknown) => {
        // A restore OpenHCL would not survive or would refuse: say which layer ended it, then the error line.
        const { failedRestoreOutcome } = await import('../servicing.ts');
        const outcome = failedRestoreOutcome(e);
        if (outcome !== undefined) await printOutcome(e, opts.json === true, { from: ref }, `restore ${ref}: outcome ${outcome.kind} (${outcome.layer})`, outcome);
        throw e;
      });
      if (opts.json === true) await printJson(out);
      else await writeChunks(process.stdout, [renderRestore(out, opts.verbose === true)]);
      if (!out.proof.ok) {
        const { HclError } = await import('../../lib/errors.ts');
        throw new HclError('RESTORE_PROOF_FAILED', `restore ${ref}: proof failed: ${out.proof.differences.filter((d) => d.allowed === undefined).length} unexplained differences`);
      }
      const first = out.inconsistencies[0];
      if (first !== undefined && opts.acceptInconsistent !== true) {
        const { HclError } = await import('../../lib/errors.ts');
        throw new HclError('RESTORE_INCONSISTENT', `restore ${ref}: OpenHCL accepts this restore, but the oracle found ${out.inconsistencies.length} inconsistencies (first: ${first.kind}: ${first.message}); --accept-inconsistent accepts them`);
      }
    }));

  storeOption(configOptions(program.command('cycle').description('workload → save → restore, N times, proving each restore')))
    .requiredOption('--cycles <n>', 'number of cycles (1 or more)', intArg('cycle --cycles', 1))
    .option('--seed <s>', 'workload seed of the first cycle (a u32)', intArg('cycle --seed', 0, 0xffff_ffff), 1)
    .option('--steps <n>', `workload steps per cycle, 0-${MAX_STEPS}`, intArg('cycle --steps', 0, MAX_STEPS), 50)
    .option('--json', 'print one record per cycle as JSON')
    .action(action(async (opts: ConfigOptions & StoreOptions & Json & { cycles: number; seed: number; steps: number }) => {
      const { runCycles } = await import('../view/vmview.ts');
      const config = await configFrom(opts);
      const records = await withStore(opts, (s) => runCycles(s, config, opts, (r) => {
        if (opts.json !== true) process.stdout.write(`cycle ${r.cycle}: saved ${r.id.slice(0, 12)} (${formatBytes(r.newBytes)} new), restore proof ${r.proof ? 'ok' : 'FAILED'}, consistency ${r.topologyConsistent ? 'ok' : 'INCONSISTENT'}\n`);
        else progress(`cycle ${r.cycle}/${opts.cycles}`);
      }));
      if (opts.json === true) await printJson(records);
      if (records.some((r) => !r.proof)) {
        const { HclError } = await import('../../lib/errors.ts');
        throw new HclError('RESTORE_PROOF_FAILED', `cycle: ${records.filter((r) => !r.proof).length} of ${records.length} restores failed their proof`);
      }
    }));

  storeOption(program.command('demo').description('boot numa, save, restore with a new host command line, save again, verify'))
    .option('--preset <name>', 'preset to run the demo on', 'numa')
    .action(action(async (opts: StoreOptions & { preset: string }) => {
      const { runDemo } = await import('../demo.ts');
      await withStore(opts, (s) => runDemo(s, (line) => process.stdout.write(`${line}\n`), opts.preset));
    }));

  storeOption(program.command('show').description('print a snapshot decoded, every unit as readable JSON').argument('<ref>', 'snapshot ref or .hclsnap file (README: refs and files)'))
    .option('--unit <name>', 'only this unit')
    .option('--json', 'lossless JSON: integers as numbers, 64-bit values as decimal strings ending in n (the default view prints registers, addresses and sizes as 0x… strings)')
    .action(action(async (ref: string, opts: StoreOptions & Json & { unit?: string }) => {
      const { showSnapshot } = await import('../view/vmview.ts');
      await writeChunks(process.stdout, [await showSnapshot(ref, opts)]);
    }));
}
