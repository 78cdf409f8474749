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

/**
 * Writes a JSON value to stdout (bigint as decimal strings, bytes as hex), streamed in chunks
 * so that output of any size works (one string would hit V8's length limit) and waits for the
 * pipe to drain.
 */
export async function printJson(value: unknown): Promise<void> {
  await writeChunks(process.stdout, jsonChunks(value));
}

/** Writes text chunks to a stream in ~64 KiB pieces, waiting whenever the stream asks to. */
export async function writeChunks(out: NodeJS.WritableStream, chunks: Iterable<string>): Promise<void> {
  let buf = '';
  for (const c of chunks) {
    buf += c;
    if (buf.length < 65536) continue;
    if (!out.write(buf)) await new Promise((resolve) => out.once('drain', resolve));
    buf = '';
  }
  if (buf !== '') out.write(buf);
}

/** JSON text (two-space indent, bigint as decimal strings, bytes as hex, final newline). */
export function toJson(value: unknown): string {
  return [...jsonChunks(value)].join('');
}

/**
 * The pieces of JSON.stringify(value, replacer, 2) followed by a newline, produced lazily; the
 * replacer turns bigint into a decimal string and a Uint8Array into a hex string.
 */
export function* jsonChunks(value: unknown): Generator<string> {
  yield* jsonValue(value, '');
  yield '\n';
}

function jsonPrimitive(v: unknown): unknown {
  if (typeof v === 'object' && v !== null && typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON: () => unknown }).toJSON();
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  return v;
}

function* jsonValue(raw: unknown, indent: string): Generator<string> {
  const v = jsonPrimitive(raw);
  if (typeof v !== 'object' || v === null) {
    yield JSON.stringify(v) ?? 'null';
    return;
  }
  const inner = `${indent}  `;
  if (Array.isArray(v)) {
    if (v.length === 0) return void (yield '[]');
    yield '[';
    for (let i = 0; i < v.length; i++) {
      yield `${i === 0 ? '' : ','}\n${inner}`;
      const item = jsonPrimitive(v[i]);
      yield* item === undefined || typeof item === 'function' || typeof item === 'symbol' ? ['null'] : jsonValue(item, inner);
    }
    yield `\n${indent}]`;
    return;
  }
  let first = true;
  for (const [k, raw2] of Object.entries(v)) {
    const item = jsonPrimitive(raw2);
    if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
    yield `${first ? '{' : ','}\n${inner}${JSON.stringify(k)}: `;
    first = false;
    yield* jsonValue(item, inner);
  }
  yield first ? '{}' : `\n${indent}}`;
}

/** Progress lines go to stderr, and only on a TTY (scripts see clean output). */
export function progress(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`${text}\n`);
}

/** A command module. */
export type Register = (program: Command) => void;
