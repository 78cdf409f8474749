import type { Command } from 'commander';
import type { VmConfig } from '../../lib/config/index.ts';
import { HclError, isHclError } from '../../lib/errors.ts';

/**
 * The CLI's file and option plumbing, in one place: strict number parsers for every numeric
 * option, `--config`/`--preset` resolution, bounded reads of input files and safe writes of
 * output files (a new path, or an existing regular file with --force; never through a symlink,
 * FIFO, device or directory).
 */

/** Input files larger than this are refused (FILE_TOO_LARGE) unless HCLCKPT_MAX_INPUT raises it. */
export const DEFAULT_MAX_INPUT = 256 * 1024 * 1024;

/** Commander parser of an integer option: plain decimal digits (optional '-') within [min, max]. */
export function intArg(flag: string, min: number, max: number = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v) => parseInteger(flag, v, min, max);
}

/** `text` as an integer within [min, max], else USAGE naming `what` and the allowed range. */
export function parseInteger(what: string, text: string, min: number, max: number = Number.MAX_SAFE_INTEGER): number {
  const n = /^-?\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new HclError('USAGE', `${what} ${JSON.stringify(text)}: expected an integer ${range}`);
  }
  return n;
}

/** Commander parser of a positive decimal number (`--timeout 2.5`). */
export function positiveArg(flag: string): (v: string) => number {
  return (v) => {
    const n = /^\d{1,9}(\.\d{1,6})?$/.test(v) ? Number(v) : 0;
    if (!(n > 0)) throw new HclError('USAGE', `${flag} ${JSON.stringify(v)}: expected a positive number`);
    return n;
  };
}

/** Commander parser that accepts only the listed values and names them when refusing. */
export function oneOf<T extends string>(flag: string, allowed: readonly T[]): (v: string) => T {
  return (v) => {
    if (!(allowed as readonly string[]).includes(v)) throw new HclError('USAGE', `${flag} ${JSON.stringify(v)}: expected one of ${allowed.join(', ')}`);
    return v as T;
  };
}

/** Commander parser that accepts values matching `re`, described as `what` when refusing. */
export function matching(flag: string, re: RegExp, what: string): (v: string) => string {
  return (v) => {
    if (!re.test(v)) throw new HclError('USAGE', `${flag} ${JSON.stringify(v)}: expected ${what}`);
    return v;
  };
}

/** Refuses flags given together that cannot both apply (`--list` with `--replay`). */
export function refuseTogether(command: string, given: Record<string, boolean>): void {
  const on = Object.entries(given).filter(([, v]) => v).map(([k]) => k);
  if (on.length > 1) throw new HclError('USAGE', `${command}: ${on.join(' and ')} cannot be given together`);
}

/** Refuses a flag that would be silently ignored: `flag` given without what it applies to. */
export function refuseIgnored(command: string, flag: string, given: boolean, appliesTo: string, applies: boolean): void {
  if (given && !applies) throw new HclError('USAGE', `${command}: ${flag} applies only with ${appliesTo}`);
}

/** `--config FILE | --preset NAME` as every VM command takes them. */
export interface ConfigOptions {
  config?: string;
  preset?: string;
}

/** Adds `--config` and `--preset` to a command. */
export function configOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'VM configuration JSON (see `hclckpt init`)')
    .option('--preset <name>', 'small, numa, large, arm64-virt or snp (default small)');
}

/** The VM configuration the options name: a file, a preset, or `fallback` (default `small`). */
export async function configFrom(opts: ConfigOptions, fallback = 'small'): Promise<VmConfig> {
  const { parseJson, presetConfig, validateConfig } = await import('../../lib/config/index.ts');
  if (opts.config !== undefined && opts.preset !== undefined) throw new HclError('USAGE', 'give --config or --preset, not both');
  if (opts.config === undefined) return presetConfig(opts.preset ?? fallback);
  const file = opts.config;
  return validateConfig(parseJson(new TextDecoder().decode(await readInput(file)), file), file);
}

/** Collects a repeatable option (`--set A=1 --set B=2`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** The input size limit: HCLCKPT_MAX_INPUT (bytes) when set, else DEFAULT_MAX_INPUT. */
export function maxInputBytes(env: NodeJS.ProcessEnv = process.env): number {
  const v = env['HCLCKPT_MAX_INPUT'];
  return v === undefined || v === '' ? DEFAULT_MAX_INPUT : parseInteger('HCLCKPT_MAX_INPUT', v, 1);
}

/** FILE_NOT_FOUND for a missing path, FILE_IO for any other failure, both naming the file. */
export function fileError(file: string, doing: string, e: unknown): HclError {
  if (isHclError(e)) return e;
  const code = (e as { code?: unknown }).code;
  if (code === 'ENOENT') return new HclError('FILE_NOT_FOUND', `${file}: no such file`, { cause: e });
  return new HclError('FILE_IO', `${file}: cannot ${doing}: ${(e as Error).message}`, { cause: e });
}

/** What readInput checks: the size limit, the file's first bytes, or only its header. */
export interface InputOptions {
  /** Largest accepted file; default maxInputBytes(). */
  limit?: number;
  /** Bytes the file must start with, checked before the rest is read; `fail` gives the error. */
  magic?: { bytes: Uint8Array; fail: (file: string) => HclError };
  /** Read only this many leading bytes: recognising a file by its magic, or (with `magic`) checking a file another reader opens. */
  header?: number;
}

/**
 * Reads a whole regular file of at most `limit` bytes: the size is checked on the opened file
 * (fstat) before reading and again while reading, so a FIFO, device or growing file never makes
 * hclckpt read without bound; a magic is checked on the first bytes before the rest is read.
 */
export async function readInput(file: string, o: InputOptions = {}): Promise<Uint8Array> {
  const { open } = await import('node:fs/promises');
  const { constants } = await import('node:fs');
  const limit = o.limit ?? maxInputBytes();
  let fh;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat below then refuses it.
    fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw fileError(file, 'read', e);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new HclError('FILE_NOT_REGULAR', `${file}: not a regular file (${kindOf(st)}); give a file`);
    const read = async (buf: Buffer, from: number): Promise<number> => {
      let n = from;
      for (;;) {
        const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
        if (bytesRead === 0 || (n += bytesRead) === buf.length) return n;
      }
    };
    if (o.header !== undefined && o.magic === undefined) {
      const head = Buffer.alloc(o.header);
      return new Uint8Array(head.buffer, head.byteOffset, await read(head, 0));
    }
    if (st.size > limit) throw tooLarge(file, limit);
    // One byte more than fstat said: reading it means the file grew while being read.
    const buf = Buffer.alloc(o.header ?? st.size + 1);
    let n = 0;
    if (o.magic !== undefined) {
      const m = o.magic.bytes;
      n = await read(buf.subarray(0, Math.min(m.length, buf.length)), 0);
      if (n < m.length || !m.every((b, i) => buf[i] === b)) throw o.magic.fail(file);
    }
    n = await read(buf, n);
    if (o.header !== undefined) return new Uint8Array(buf.buffer, buf.byteOffset, n);
    if (n > st.size) throw tooLarge(file, limit, 'grew while being read');
    return new Uint8Array(buf.buffer, buf.byteOffset, n);
  } catch (e) {
    throw fileError(file, 'read', e);
  } finally {
    await fh.close();
  }
}

function u32(v: number, le: boolean): Uint8Array {
  const b = Buffer.alloc(4);
  if (le) b.writeUInt32LE(v);
  else b.writeUInt32BE(v);
  return new Uint8Array(b);
}

/** An IGVM file's magic ("IGVM", the igvm crate's IGVM_MAGIC_VALUE as little-endian u32). */
export async function igvmMagic(): Promise<NonNullable<InputOptions['magic']>> {
  const { IGVM_MAGIC } = await import('../../lib/igvm/index.ts');
  return { bytes: u32(IGVM_MAGIC, true), fail: (file) => new HclError('IGVM_INVALID_FIXED_HEADER', `${file}: not an IGVM file (bad magic)`) };
}

/** A DTB's magic (0xd00dfeed, big-endian, as the devicetree specification says). */
export async function fdtMagic(): Promise<NonNullable<InputOptions['magic']>> {
  const { FDT_MAGIC } = await import('../../lib/fdt/index.ts');
  return { bytes: u32(FDT_MAGIC, false), fail: (file) => new HclError('FDT_BAD_MAGIC', `${file}: not a flattened device tree (bad magic)`) };
}

/** An .hclsnap archive's magic (lib/store/archive.ts). */
export async function archiveMagic(): Promise<NonNullable<InputOptions['magic']>> {
  const { ARCHIVE_MAGIC } = await import('../../lib/store/index.ts');
  return { bytes: ARCHIVE_MAGIC, fail: (file) => new HclError('ARCHIVE_INVALID', `${file}: not an .hclsnap archive (bad magic)`) };
}

function tooLarge(file: string, limit: number, why = `is larger than ${limit} bytes`): HclError {
  return new HclError('FILE_TOO_LARGE', `${file}: ${why}, the input limit; set HCLCKPT_MAX_INPUT=BYTES to raise it`, { context: { limit } });
}

function kindOf(st: import('node:fs').Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'not a file';
}

/** A new output path needs an existing directory to go in (FILE_IO naming it otherwise). */
async function parentMustExist(path: string): Promise<void> {
  const { stat } = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  const dir = dirname(path);
  const d = await stat(dir).catch(() => undefined);
  if (d === undefined || !d.isDirectory()) throw new HclError('FILE_IO', `${path}: cannot write: ${dir} is not an existing directory`);
}

/**
 * Checks that `path` may be written: a new path in an existing directory, or (with `force`) an
 * existing regular file (`want` file) or real directory (`want` directory, a tree goes in).
 * Anything else (symlink, FIFO, device, the other kind) is FILE_NOT_REGULAR; an existing one
 * without `force` is FILE_EXISTS.
 */
export async function checkOutput(path: string, force: boolean, want: 'file' | 'directory' = 'file'): Promise<void> {
  const { lstat } = await import('node:fs/promises');
  let st;
  try {
    st = await lstat(path);
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'ENOENT') throw fileError(path, 'write', e);
    return parentMustExist(path);
  }
  if (want === 'file' ? !st.isFile() : !st.isDirectory()) {
    throw new HclError('FILE_NOT_REGULAR', `${path}: is ${kindOf(st)}; hclckpt writes only a new path or an existing ${want === 'file' ? 'regular file' : 'directory'}`);
  }
  if (!force) throw new HclError('FILE_EXISTS', `${path}: already exists (use --force to ${want === 'file' ? 'overwrite it' : 'write into it'})`);
}

/**
 * Writes `data` (bytes, or text chunks streamed in order) to `file` through a new temporary file
 * in the same directory and a rename, after checkOutput: the target is whole or untouched.
 */
export async function writeOutput(file: string, data: Uint8Array | string | Iterable<string>, force: boolean): Promise<void> {
  const { open, rename, rm } = await import('node:fs/promises');
  const { basename, dirname, join } = await import('node:path');
  await checkOutput(file, force);
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    const fh = await open(tmp, 'wx'); // O_EXCL: never opens an existing path (or a symlink) there
    try {
      if (typeof data === 'string' || data instanceof Uint8Array) await fh.writeFile(data);
      else for (const chunk of data) await fh.write(chunk);
    } finally {
      await fh.close();
    }
    await checkOutput(file, force);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw fileError(file, 'write', e);
  }
}

/**
 * Writes `files` ([path under `dir`, bytes]) below `dir` after checkOutput(dir, force, 'directory');
 * every directory on the way is created or must be a real directory, so no write goes through a
 * symlink planted inside the tree.
 */
export async function writeTree(dir: string, files: Array<[string, Uint8Array]>, force: boolean): Promise<void> {
  const { lstat, mkdir } = await import('node:fs/promises');
  const { dirname, relative, join } = await import('node:path');
  await checkOutput(dir, force, 'directory');
  const made = new Set<string>();
  for (const [file, bytes] of files) {
    const under = relative(dir, dirname(file));
    if (under.startsWith('..')) throw new TypeError(`writeTree: ${file} is not under ${dir}`);
    let at = dir;
    for (const part of ['', ...under.split('/').filter((p) => p !== '')]) {
      at = join(at, part);
      if (made.has(at)) continue;
      try {
        await mkdir(at);
      } catch (e) {
        if ((e as { code?: unknown }).code !== 'EEXIST') throw fileError(at, 'create directory', e);
        const st = await lstat(at);
        if (!st.isDirectory()) throw new HclError('FILE_NOT_REGULAR', `${at}: is ${kindOf(st)}; hclckpt writes only into real directories`);
      }
      made.add(at);
    }
    await writeOutput(file, bytes, true);
  }
}

/** Runs `fn`, prefixing any HclError message with the file it was about. */
export async function aboutFile<T>(file: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isHclError(e)) throw new HclError(e.code, `${file}: ${e.message}`, { cause: e, ...(e.context === undefined ? {} : { context: { ...e.context } }) });
    throw e;
  }
}
