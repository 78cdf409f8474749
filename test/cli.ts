import { main } from '../harness/commands/program.ts';

/** Environment variables a CLI run under test never inherits (see runCli). */
export const HERMETIC_ENV = ['FORCE_COLOR', 'NO_COLOR', 'HCLCKPT_STORE', 'HCLCKPT_DEBUG', 'HCLCKPT_MAX_INPUT'];

/** process.env without HERMETIC_ENV, for spawning the real binary. */
export function hermeticEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of HERMETIC_ENV) delete env[k];
  return { ...env, ...extra };
}

/** What one in-process CLI run printed and its exit code. */
export interface CliRun {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `hclckpt ARGS` in this process with stdout/stderr captured, the way cli.ts would
 * (main() in harness/commands/program.ts). Spawning a process per command costs seconds; a few
 * tests still go through bin/hclckpt.mjs (the built dist/) to cover the real entry point.
 */
export async function runCli(...args: string[]): Promise<CliRun> {
  const out = { stdout: '', stderr: '' };
  // The user's (and uvu's: it sets FORCE_COLOR=1) environment must not change what a test sees:
  // the CLI runs as from a script, no colour, default store only where the test gives --store.
  const saved = HERMETIC_ENV.map((k) => [k, process.env[k]] as const);
  for (const k of HERMETIC_ENV) delete process.env[k];
  const write = { stdout: process.stdout.write, stderr: process.stderr.write };
  const prevCode = process.exitCode;
  process.exitCode = 0;
  process.stdout.write = ((chunk: string) => { out.stdout += chunk; return true; }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => { out.stderr += chunk; return true; }) as typeof process.stderr.write;
  try {
    await main(['node', 'hclckpt', ...args]);
    return { status: Number(process.exitCode ?? 0), ...out };
  } finally {
    process.stdout.write = write.stdout;
    process.stderr.write = write.stderr;
    process.exitCode = prevCode;
    for (const [k, v] of saved) if (v !== undefined) process.env[k] = v;
  }
}
