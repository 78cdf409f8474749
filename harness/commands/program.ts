import { Command } from 'commander';
import { createRequire } from 'node:module';
import type { Register } from './run.ts';

// One entry per command group. Keep these modules light: heavy imports belong inside actions,
// so that `hclckpt --help` and `hclckpt ls` start fast.
const modules: Array<() => Promise<{ register: Register }>> = [
  () => import('./init.ts'),
  () => import('./dt.ts'),
  () => import('./igvm.ts'),
  () => import('./igvm-build.ts'),
  () => import('./store.ts'),
  () => import('./kernel.ts'),
  () => import('./vm.ts'),
  () => import('./bench.ts'),
  () => import('./schema.ts'),
  () => import('./diff.ts'),
  () => import('./prop.ts'),
];

/**
 * The whole `hclckpt` program with every command group registered. cli.ts runs it on argv;
 * tests run it in-process (spawning tsx per command costs a second or two).
 */
export async function buildProgram(): Promise<Command> {
  const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };
  const program = new Command('hclckpt')
    .description('save/restore checkpoint engine and test harness for the OpenHCL paravisor boot pipeline')
    .version(version)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      outputError: (str, write) => write(`hclckpt: error USAGE: ${str.replace(/^error: /, '')}`),
    });
  for (const load of modules) (await load()).register(program);
  return program;
}
