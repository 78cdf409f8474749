#!/usr/bin/env node
// hclckpt command line: argument handling and printing only; every command lives in
// harness/commands/<group>.ts and calls into harness/ and lib/.
import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { HclError } from './lib/errors.ts';
import { report, type Register } from './harness/commands/run.ts';

const { version } = createRequire(import.meta.url)('./package.json') as { version: string };

// One entry per command group. Keep these modules light: heavy imports belong inside actions,
// so that `hclckpt --help` and `hclckpt ls` start fast.
const modules: Array<() => Promise<{ register: Register }>> = [
  () => import('./harness/commands/init.ts'),
  () => import('./harness/commands/dt.ts'),
  () => import('./harness/commands/igvm.ts'),
  () => import('./harness/commands/igvm-build.ts'),
  () => import('./harness/commands/store.ts'),
  () => import('./harness/commands/kernel.ts'),
  () => import('./harness/commands/vm.ts'),
  () => import('./harness/commands/bench.ts'),
  () => import('./harness/commands/schema.ts'),
  () => import('./harness/commands/diff.ts'),
];

const program = new Command('hclckpt')
  .description('save/restore checkpoint engine and test harness for the OpenHCL paravisor boot pipeline')
  .version(version)
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()
  .configureOutput({
    outputError: (str, write) => write(`hclckpt: error USAGE: ${str.replace(/^error: /, '')}`),
  });

for (const load of modules) (await load()).register(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // commander already printed its message; help and version exit 0, usage errors exit 2.
    process.exitCode = e.exitCode === 0 ? 0 : 2;
  } else {
    report(e instanceof Error ? e : new HclError('USAGE', String(e)));
  }
}
