import { spawn } from 'node:child_process';

/** What one external command did: exit status, captured output and wall time. */
export interface ExecResult {
  /** Exit code, or null when the process was killed (timeout or signal). */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time in milliseconds. */
  ms: number;
  /** True when the timeout killed it. */
  timedOut: boolean;
}

/** Options for `run`: working directory, extra environment, a timeout and stdout streaming. */
export interface ExecOptions {
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Called with each stdout chunk as it arrives (serial consoles are read this way). */
  onStdout?: (chunk: string) => void;
}

/**
 * Runs `cmd args` without a shell and resolves with its result; never rejects for a non-zero
 * exit (callers decide what a failure means). A missing binary resolves with code 127.
 */
export function run(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, opts.timeoutMs);
    child.stdout.setEncoding('latin1').on('data', (c: string) => {
      stdout += c;
      opts.onStdout?.(c);
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const done = (code: number | null, extra = ''): void => {
      if (timer !== undefined) clearTimeout(timer);
      resolve({ code, stdout, stderr: stderr + extra, ms: Math.round(performance.now() - t0), timedOut });
    };
    child.on('error', (e) => done(127, String(e)));
    child.on('close', (code) => done(code));
  });
}

/** The last `n` lines of a text, for error messages that quote a log. */
export function tail(text: string, n: number): string {
  return text.replace(/\r/g, '').trimEnd().split('\n').slice(-n).join('\n');
}
