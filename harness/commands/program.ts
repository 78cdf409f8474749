import { Command, CommanderError } from 'commander';
import { TOOL_VERSION } from '../../lib/version.ts';
import { report, type Register } from './run.ts';

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
  const program = new Command('hclckpt')
    .description('save/restore checkpoint engine and test harness for the OpenHCL paravisor boot pipeline')
    .version(TOOL_VERSION)
    .showSuggestionAfterError(false)
    .exitOverride()
    .configureOutput({
      // One line, like every other error: commander's first line without its own prefix.
      outputError: (str, write) => write(`hclckpt: error USAGE: ${str.replace(/^error: /, '').split('\n')[0]}\n`),
    });
  for (const load of modules) (await load()).register(program);
  return program;
}

/**
 * Runs `hclckpt` on `argv` (node, script, args...) and sets process.exitCode: 0 for help and
 * version, 2 for a usage error (commander printed it), else what the command's error says.
 */
export async function main(argv: string[]): Promise<void> {
  try {
    await (await buildProgram()).parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exitCode = e.exitCode === 0 ? 0 : 2;
    else report(e);
  }
}
