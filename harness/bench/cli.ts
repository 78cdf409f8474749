import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HclError } from '../../lib/errors.ts';

/**
 * The CLI launcher `hclckpt` runs as (bin/hclckpt.mjs, which runs the built dist/cli.js): the
 * nearest bin/hclckpt.mjs above this module, which is harness/ from source and dist/chunks/ in
 * the package.
 */
export function cliBin(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const bin = join(dir, 'bin', 'hclckpt.mjs');
    if (existsSync(bin)) return bin;
    if (dirname(dir) === dir) throw new HclError('CHECK_FAILED', `bench: no bin/hclckpt.mjs above ${fileURLToPath(import.meta.url)}`);
  }
}

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
  const bin = cliBin();
  wallMs([bin, 'save', '--preset', 'small'], env); // ls lists one snapshot (and a missing store is an error)
  const times = (args: string[]): number[] => {
    wallMs(args, env);
    return Array.from({ length: Math.max(1, runs) }, () => wallMs(args, env));
  };
  return { hclckptVersion: times([bin, '--version']), hclckptLs: times([bin, 'ls']), nodeE0: times(['-e', '0']) };
}
