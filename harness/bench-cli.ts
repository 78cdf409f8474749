import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { HclError } from '../lib/errors.ts';

/** The CLI launcher `hclckpt` runs as (bin/hclckpt.mjs, which runs the built dist/cli.js). */
export const CLI_BIN = fileURLToPath(new URL('../bin/hclckpt.mjs', import.meta.url));

function wallMs(args: string[], env: NodeJS.ProcessEnv): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new HclError('CHECK_FAILED', `bench: ${args.join(' ')} exited ${String(r.status)}: ${r.stderr.toString().trim()}`);
  return ms;
}

/**
 * Cold start of `hclckpt --version`, of `hclckpt ls` (a fresh process on the store at `storeDir`,
 * holding one snapshot) and of `node -e 0`, each `runs` processes after one warm-up, in wall-clock ms.
 */
export async function cliStartTimes(runs: number, storeDir: string): Promise<{ hclckptVersion: number[]; hclckptLs: number[]; nodeE0: number[] }> {
  const env: NodeJS.ProcessEnv = { ...process.env, HCLCKPT_STORE: storeDir };
  delete env['NODE_OPTIONS'];
  wallMs([CLI_BIN, 'save', '--preset', 'small'], env); // ls lists one snapshot (and a missing store is an error)
  const times = (args: string[]): number[] => {
    wallMs(args, env);
    return Array.from({ length: Math.max(1, runs) }, () => wallMs(args, env));
  };
  return { hclckptVersion: times([CLI_BIN, '--version']), hclckptLs: times([CLI_BIN, 'ls']), nodeE0: times(['-e', '0']) };
}
