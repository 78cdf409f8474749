import { Command } from 'commander';
import { HclError, isHclError } from '../../lib/errors.ts';

/**
 * Shared plumbing for command modules: each `harness/commands/<group>.ts` exports
 * `register(program)` and wraps its actions in `action()` so every failure is reported the same
 * way: `hclckpt: error CODE: message` on stderr, exit 2 for bad input and 1 for a failed check,
 * and a stack trace only with HCLCKPT_DEBUG=1.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      report(e);
    }
  };
}

/** Prints one error line (plus the stack under HCLCKPT_DEBUG=1) and sets the exit code. */
export function report(e: unknown): void {
  const debug = process.env['HCLCKPT_DEBUG'] === '1';
  if (isHclError(e)) {
    process.stderr.write(`hclckpt: error ${e.code}: ${e.message}\n`);
    if (debug && e.stack !== undefined) process.stderr.write(`${e.stack}\n`);
    process.exitCode = (e as HclError).exitCode;
    return;
  }
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`hclckpt: internal error: ${msg}\n`);
  if (debug && e instanceof Error && e.stack !== undefined) process.stderr.write(`${e.stack}\n`);
  process.exitCode = 70;
}

/** Writes a JSON value to stdout; bigint becomes a decimal string, bytes become hex. */
export function printJson(value: unknown): void {
  process.stdout.write(`${toJson(value)}\n`);
}

/** JSON text with bigint as decimal strings and byte arrays as hex strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v: unknown) => {
      if (typeof v === 'bigint') return v.toString();
      if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
      return v;
    },
    2,
  );
}

/** A command module. */
export type Register = (program: Command) => void;
