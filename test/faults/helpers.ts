import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isHclError } from '../../lib/errors.ts';
import { mulberry32 } from '../../harness/workload.ts';

/**
 * Shared pieces of the reliability suite: counts (modest in CI, large with --soak or
 * HCLCKPT_SOAK=1), seeded randomness, scratch directories, child processes and byte mutations.
 */

/** True for a soak run (`npm run test:faults -- --soak` or HCLCKPT_SOAK=1). */
export const SOAK = process.env['HCLCKPT_SOAK'] === '1' || process.argv.includes('--soak');

/** `ci` normally, `soak` in a soak run. */
export function count(ci: number, soak: number): number {
  return SOAK ? soak : ci;
}

/** Seed of this run: HCLCKPT_FAULT_SEED, else fixed so CI runs repeat; printed on failure by callers. */
export const SEED = Number(process.env['HCLCKPT_FAULT_SEED'] ?? 20261125);

/** A seeded PRNG with helpers. */
export function rng(seed: number) {
  const next = mulberry32(seed);
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: <T>(xs: readonly T[]): T => xs[int(xs.length)] as T };
}
export type Rng = ReturnType<typeof rng>;

const made: string[] = [];
process.on('exit', () => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A scratch directory removed when the process exits. */
export async function tempDir(prefix = 'hclckpt-faults-'): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  made.push(d);
  return d;
}

/** Absolute path of a file in the repository. */
export function repoPath(rel: string): string {
  return fileURLToPath(new URL(`../../${rel}`, import.meta.url));
}

/** A child process running a TypeScript file through tsx, with line-wise stdout. */
export interface Child {
  proc: ChildProcessWithoutNullStreams;
  lines: string[];
  /** Resolves with the first stdout line matching `re` (rejects if the process ends first). */
  waitFor(re: RegExp): Promise<string>;
  /** Resolves with the exit code (null) and signal once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

const bundles = new Map<string, Promise<string[]>>();

/**
 * The node arguments that run `file`: one esbuild bundle of it (esbuild is tsx's own transformer;
 * the bundle lives two levels down, in node_modules/.cache, so packages and ../../package.json resolve), which starts about 3× faster than
 * `--import tsx` on this machine; `--import tsx FILE` if esbuild cannot be loaded.
 */
export function nodeArgsFor(file: string): Promise<string[]> {
  let b = bundles.get(file);
  if (b === undefined) {
    b = (async () => {
      try {
        const { build } = await import('esbuild');
        const out = repoPath(`node_modules/.cache/hclckpt-faults-${process.pid}-${file.replace(/[^A-Za-z0-9]/g, '_')}.mjs`);
        await build({ entryPoints: [repoPath(file)], bundle: true, platform: 'node', format: 'esm', packages: 'external', target: 'node20', outfile: out, logLevel: 'error' });
        made.push(out);
        return [out];
      } catch {
        return ['--import', 'tsx', repoPath(file)];
      }
    })();
    bundles.set(file, b);
  }
  return b;
}

/** Starts `node ARGS` (see nodeArgsFor) from the repository root, with line-wise stdout. */
export function spawnNode(nodeArgs: string[], args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const file = nodeArgs[nodeArgs.length - 1] ?? '';
  const proc = spawn(process.execPath, [...nodeArgs, ...args], { cwd: repoPath('.'), env: { ...process.env, ...env } });
  const lines: string[] = [];
  const waiters: Array<{ re: RegExp; resolve: (l: string) => void; reject: (e: Error) => void }> = [];
  let buf = '';
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  proc.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      for (const w of [...waiters]) if (w.re.test(line)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(line); }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    proc.on('close', (code, signal) => {
      for (const w of waiters.splice(0)) w.reject(new Error(`${file} ended (${String(code ?? signal)}) before /${w.re.source}/: ${stderr.slice(-2000)}`));
      resolve({ code, signal, stderr });
    });
  });
  const waitFor = (re: RegExp) => {
    const hit = lines.find((l) => re.test(l));
    if (hit !== undefined) return Promise.resolve(hit);
    return new Promise<string>((resolve, reject) => waiters.push({ re, resolve, reject }));
  };
  return { proc, lines, waitFor, exited };
}

/** Sleeps `ms`. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One byte flipped (XOR a non-zero value) at a random offset: the result always differs. */
export function flip(bytes: Uint8Array, r: Rng): { bytes: Uint8Array; what: string } {
  const out = new Uint8Array(bytes); // a copy even when `bytes` is a Buffer (whose slice() is a view)
  const at = r.int(out.length);
  out[at] = (out[at] as number) ^ (1 + r.int(255));
  return { bytes: out, what: `flip at ${at}` };
}

/** Cut to a random shorter length (possibly 0). */
export function truncate(bytes: Uint8Array, r: Rng): { bytes: Uint8Array; what: string } {
  const len = r.int(bytes.length);
  return { bytes: new Uint8Array(bytes.subarray(0, len)), what: `truncate to ${len}` };
}

/** A damaging mutation: a flip or a truncation, evenly. */
export function damage(bytes: Uint8Array, r: Rng): { bytes: Uint8Array; what: string } {
  return r.int(2) === 0 ? flip(bytes, r) : truncate(bytes, r);
}

/** The error's code when it is an HclError, else a description of what escaped. */
export function codeOf(e: unknown): string {
  if (isHclError(e)) return e.code;
  return `non-HclError ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)}`;
}
