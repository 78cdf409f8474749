import { CommanderError } from 'commander';
import { buildProgram } from '../harness/commands/program.ts';

/** What one in-process CLI run printed and its exit code. */
export interface CliRun {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `hclckpt ARGS` in this process with stdout/stderr captured, the way cli.ts would
 * (commander usage errors exit 2). Spawning tsx per command costs seconds; a few tests still go
 * through bin/hclckpt.mjs to cover the real entry point.
 */
export async function runCli(...args: string[]): Promise<CliRun> {
  const out = { stdout: '', stderr: '' };
  const write = { stdout: process.stdout.write, stderr: process.stderr.write };
  const prevCode = process.exitCode;
  process.exitCode = 0;
  process.stdout.write = ((chunk: string) => { out.stdout += chunk; return true; }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => { out.stderr += chunk; return true; }) as typeof process.stderr.write;
  try {
    const program = await buildProgram();
    try {
      await program.parseAsync(['node', 'hclckpt', ...args]);
    } catch (e) {
      if (!(e instanceof CommanderError)) throw e;
      process.exitCode = e.exitCode === 0 ? 0 : 2;
    }
    return { status: Number(process.exitCode ?? 0), ...out };
  } finally {
    process.stdout.write = write.stdout;
    process.stderr.write = write.stderr;
    process.exitCode = prevCode;
  }
}
