import type { Command } from 'commander';
import { action, printJson } from './run.ts';
import { collect, configFrom, configOptions, progress, readInput, type ConfigOptions } from './options.ts';
import { storeOption, withStore, formatBytes, reportRepairs, type StoreOptions } from './store.ts';

type Json = { json?: boolean };

/** `boot`, `save`, `restore`, `cycle`, `show`: the VM lifecycle commands (DESIGN.md §6). */
export function register(program: Command): void {
  configOptions(program.command('boot').description('boot a VM through every stage and show what each produced'))
    .option('--show <what>', 'topology, cmdline, dt or procfs', 'topology')
    .option('--dtb-out <file>', 'write the kernel DTB the shim produced')
    .option('--host-dtb-out <file>', 'write the host DTB the host produced')
    .option('--procfs-out <dir>', 'write the kernel ProcFs as a directory tree')
    .option('--json', 'print {topology, cmdline, bootCpus, stages} as JSON')
    .action(action(async (opts: ConfigOptions & Json & { show: string; dtbOut?: string; hostDtbOut?: string; procfsOut?: string }) => {
      const { bootReport, writeBootOutputs, renderBoot } = await import('../view/vmview.ts');
      const { boot } = await import('../pipeline.ts');
      const vm = boot(await configFrom(opts));
      await writeBootOutputs(vm, opts);
      if (opts.json === true) return printJson(bootReport(vm));
      process.stdout.write(renderBoot(vm, opts.show));
    }));

  storeOption(configOptions(program.command('save').description('boot, run a workload and save a snapshot')))
    .option('--workload <seed:steps>', 'deterministic guest activity before the save', '1:100')
    .option('--name <name>', 'snapshot name (default: the VM name)')
    .option('--generation <n>', 'write an older saved-state generation (servicing back to an older release)', (v) => Number(v))
    .option('--json', 'print {id, name, seq, bytes, newBytes, units} as JSON')
    .action(action(async (opts: ConfigOptions & StoreOptions & Json & { workload: string; name?: string; generation?: number }) => {
      const { parseWorkload } = await import('../workload.ts');
      const { bootWithWorkload, saveVm } = await import('../servicing.ts');
      const workload = parseWorkload(opts.workload);
      const vm = bootWithWorkload(await configFrom(opts), workload);
      const r = await withStore(opts, (s) => saveVm(vm, s, { workload, generation: opts.generation ?? null, ...(opts.name === undefined ? {} : { name: opts.name }) }));
      reportRepairs(r.repairedBlobs);
      if (opts.json === true) return printJson(r);
      process.stdout.write(`${r.id}\n`);
      progress(`saved ${r.name}@${r.seq}: ${formatBytes(r.bytes)} (${formatBytes(r.newBytes)} new), ${r.units.length} units`);
    }));

  storeOption(program.command('restore').description('restore a snapshot with updated host parameters and prove it').argument('<ref>', 'snapshot id prefix, NAME or NAME@N'))
    .option('--set <key=value>', 'override a config path (repeatable): cmdline.host=…, sidecar=off, …', collect, [])
    .option('--config <file>', 'restore against a whole new host configuration')
    .option('--igvm <file>', 'service to another IGVM package')
    .option('--workload <seed:steps>', 'run guest activity after the restore')
    .option('--save', 'save the restored VM as a new snapshot (parent: the restored one)')
    .option('--accept-inconsistent', 'exit 0 even when the consistency oracle finds inconsistencies')
    .option('--json', 'print {id, from, outcome, topologyConsistent, inconsistencies, proof, overrides, cmdline} as JSON')
    .action(action(async (ref: string, opts: StoreOptions & Json & { set: string[]; config?: string; igvm?: string; workload?: string; save?: boolean; acceptInconsistent?: boolean }) => {
      const { runRestore, renderRestore } = await import('../view/vmview.ts');
      const restoreOpts = {
        sets: opts.set,
        ...(opts.config === undefined ? {} : { config: await configFrom({ config: opts.config }) }),
        ...(opts.igvm === undefined ? {} : { igvm: await readInput(opts.igvm) }),
      };
      const out = await withStore(opts, (s) => runRestore(s, ref, restoreOpts, { workload: opts.workload, save: opts.save === true }), { readOnly: opts.save !== true }).catch(async (e: unknown) => {
        // A restore OpenHCL would not survive or would refuse: say which layer ended it, then the error line.
        const { failedRestoreOutcome } = await import('../servicing.ts');
        const outcome = failedRestoreOutcome(e);
        if (outcome !== undefined) {
          const error = { code: (e as { code: string }).code, message: (e as Error).message };
          if (opts.json === true) printJson({ from: ref, outcome, error });
          else process.stdout.write(`restore ${ref}: outcome ${outcome.kind} (${outcome.layer})\n`);
        }
        throw e;
      });
      if (opts.json === true) printJson(out);
      else process.stdout.write(renderRestore(out));
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
    .requiredOption('--cycles <n>', 'number of cycles', (v) => Number(v))
    .option('--seed <s>', 'workload seed of the first cycle', (v) => Number(v), 1)
    .option('--steps <n>', 'workload steps per cycle', (v) => Number(v), 50)
    .option('--json', 'print one record per cycle as JSON')
    .action(action(async (opts: ConfigOptions & StoreOptions & Json & { cycles: number; seed: number; steps: number }) => {
      const { runCycles } = await import('../view/vmview.ts');
      const config = await configFrom(opts);
      const records = await withStore(opts, (s) => runCycles(s, config, opts, (r) => {
        if (opts.json !== true) process.stdout.write(`cycle ${r.cycle}: saved ${r.id.slice(0, 12)} (${formatBytes(r.newBytes)} new), restore proof ${r.proof ? 'ok' : 'FAILED'}, consistency ${r.topologyConsistent ? 'ok' : 'INCONSISTENT'}\n`);
        else progress(`cycle ${r.cycle}/${opts.cycles}`);
      }));
      if (opts.json === true) printJson(records);
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

  storeOption(program.command('show').description('print a snapshot decoded, every unit as readable JSON').argument('<ref>', 'snapshot ref or .hclsnap file'))
    .option('--unit <name>', 'only this unit')
    .option('--json', 'print JSON (the default output is JSON too, with a header)')
    .action(action(async (ref: string, opts: StoreOptions & Json & { unit?: string }) => {
      const { showSnapshot } = await import('../view/vmview.ts');
      process.stdout.write(await showSnapshot(ref, opts));
    }));
}
