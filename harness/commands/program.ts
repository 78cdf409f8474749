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

/** `hclckpt --help` after the command list: the environment and the limits (README: CLI). */
const ENVIRONMENT = `
Environment:
  HCLCKPT_STORE        store directory when --store is not given (default ./.hclckpt)
  HCLCKPT_MAX_INPUT    largest input file in bytes (default 268435456 = 256 MiB)
  HCLCKPT_DEBUG=1      print the stack trace after an error line
  HCLCKPT_FAULT        fault points for tests, comma-separated: save-fail, save-stuck,
                       store-write-fail, restore-fail, restore-stuck
  HCLCKPT_KERNEL_DIR   kernel setup/check cache (default ~/.cache/hclckpt/kernel)
  HCLCKPT_QEMU         qemu binary for kernel check (default qemu-system-aarch64)
  HCLCKPT_PROP_MAXVPS  default --max-vps of prop (default 64)
  NO_COLOR, FORCE_COLOR  colour off / on (FORCE_COLOR=0 off); otherwise colour only on a TTY

Limits: input files 256 MiB (HCLCKPT_MAX_INPUT); VMs 1-2048 VPs; workloads up to 10000000
steps; DTBs 32 MiB; kernel command line 0x2000 bytes; snapshot names 128 characters; id
prefixes at least 4 hex digits. Exit codes: 0 ok, 1 a check failed, 2 bad input.
`;

/**
 * The whole `hclckpt` program with every command group registered. cli.ts runs it on argv;
 * tests run it in-process (spawning tsx per command costs a second or two).
 */
export async function buildProgram(): Promise<Command> {
  const program = new Command('hclckpt')
    .description('save/restore checkpoint engine and test harness for the OpenHCL paravisor boot pipeline')
    .version(TOOL_VERSION)
    .addHelpText('after', ENVIRONMENT)
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
