import { lstat, mkdir, open, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { HclError } from '../errors.ts';
import { JOURNAL_FILE } from './journal.ts';

/**
 * The store's identity: a small marker file written when hclckpt creates a store and checked on
 * every open, so hclckpt never lets LevelDB create a database inside a directory that is not
 * recognisably its own empty new store (LevelDB deletes files named like its own that it does not know).
 */

/** Name of the marker file in a store directory. */
export const MARKER_FILE = 'HCLCKPT_STORE';
const MARKER_TEXT = 'hclckpt snapshot store\n';
// What a store directory may hold before LevelDB has written anything: ours, nothing else.
const OURS = new Set([MARKER_FILE, JOURNAL_FILE]);
// A path deeper than this is refused rather than walked (each level is one mkdir).
const MAX_NEW_LEVELS = 32;

/** How the store directory is to be opened: `create` when it is a new, empty store. */
export interface PreparedDir {
  create: boolean;
}

const errno = (e: unknown): string | undefined => (e as NodeJS.ErrnoException).code;

/** Writes `text` to a file that must not exist yet, and fsyncs it. */
async function writeNew(file: string, text: string): Promise<void> {
  const h = await open(file, 'wx');
  try {
    await h.writeFile(text);
    await h.sync();
  } finally {
    await h.close();
  }
}

// Creates `dir` and its missing parents one level at a time: Node's recursive mkdir spins
// forever on some pseudo file systems (`/proc/foo`), a plain mkdir fails at once there.
async function makeDir(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let d = dir; missing.length <= MAX_NEW_LEVELS; d = dirname(d)) {
    try {
      if (!(await stat(d)).isDirectory()) throw new HclError('STORE_IO', `store ${dir}: cannot create: ${d} is not a directory`);
      break;
    } catch (e) {
      if (errno(e) !== 'ENOENT' || d === dirname(d)) throw e;
      missing.push(d);
    }
  }
  if (missing.length > MAX_NEW_LEVELS) throw new HclError('USAGE', `store ${dir}: more than ${MAX_NEW_LEVELS} missing parent directories`);
  for (const d of missing.reverse()) await mkdir(d).catch((e: unknown) => { if (errno(e) !== 'EEXIST') throw e; });
}

// LevelDB's CURRENT holds one line naming the live manifest; it is tiny.
const CURRENT_MAX = 64;

/**
 * STORE_CORRUPT unless LevelDB's CURRENT is a regular file naming a manifest the directory holds:
 * LevelDB itself reports a CURRENT that names a missing file as a bare "IO error: PATH", which
 * says nothing of damage. RepairDB rewrites CURRENT, so the message points there.
 */
async function checkCurrent(dir: string, entries: readonly string[]): Promise<void> {
  const file = join(dir, 'CURRENT');
  const bad = (why: string) => new HclError('STORE_CORRUPT', `store ${dir}: LevelDB's CURRENT file is damaged: ${why} (run hclckpt store repair)`);
  const st = await lstat(file);
  if (!st.isFile()) throw bad('it is not a regular file');
  if (st.size > CURRENT_MAX) throw bad(`it is ${st.size} bytes, a manifest name is at most ${CURRENT_MAX}`);
  const h = await open(file, 'r');
  let text: string;
  try {
    const buf = Buffer.alloc(CURRENT_MAX + 1);
    text = buf.subarray(0, (await h.read(buf, 0, buf.length, 0)).bytesRead).toString('latin1');
  } finally {
    await h.close();
  }
  const name = /^(MANIFEST-\d{1,20})\n$/.exec(text)?.[1];
  if (name === undefined) throw bad(`it holds ${JSON.stringify(text.slice(0, 32))}, not one manifest name and a newline`);
  if (!entries.includes(name)) throw bad(`it names ${name}, which is missing`);
}

/** Whether `dir` holds the marker, with the right contents (STORE_CORRUPT when damaged). */
export async function hasMarker(dir: string): Promise<boolean> {
  let text: string;
  const file = join(dir, MARKER_FILE);
  try {
    // lstat first: opening a FIFO would block, and a symlink could point anywhere.
    if (!(await lstat(file)).isFile()) throw new HclError('STORE_CORRUPT', `store ${dir}: ${MARKER_FILE} is not a regular file`);
    const h = await open(file, 'r');
    try {
      const buf = Buffer.alloc(MARKER_TEXT.length + 1);
      text = buf.subarray(0, (await h.read(buf, 0, buf.length, 0)).bytesRead).toString('latin1');
    } finally {
      await h.close();
    }
  } catch (e) {
    if (errno(e) === 'ENOENT') return false;
    throw e;
  }
  if (text !== MARKER_TEXT) throw new HclError('STORE_CORRUPT', `store ${dir}: the store marker ${MARKER_FILE} is damaged (run hclckpt store repair)`);
  return true;
}

/** Writes the marker into `dir` (no-op when it is there). */
export async function writeMarker(dir: string): Promise<void> {
  if (!(await hasMarker(dir))) await writeNew(join(dir, MARKER_FILE), MARKER_TEXT);
}

/** Writes the marker whole for `store repair`, over a damaged one (only ever a regular file: hasMarker checked). */
export async function rewriteMarker(dir: string): Promise<void> {
  const damaged = await hasMarker(dir).then(() => false, (e: unknown) => {
    if (e instanceof HclError && e.code === 'STORE_CORRUPT' && e.message.includes('is damaged')) return true;
    throw e;
  });
  if (!damaged) return writeMarker(dir);
  const h = await open(join(dir, MARKER_FILE), 'r+');
  try {
    await h.truncate(0);
    await h.write(MARKER_TEXT, 0);
    await h.sync();
  } finally {
    await h.close();
  }
}

/** True when `names` (a directory listing) holds any of LevelDB's own files. */
export function hasLevelDbFiles(names: readonly string[]): boolean {
  return names.some((f) => f === 'CURRENT' || /^MANIFEST-\d+$/.test(f) || /^\d+\.(log|ldb|sst)$/.test(f));
}

/**
 * Checks `dir` before LevelDB sees it. A missing directory is created with its marker (or, for a
 * read-only command, is STORE_NOT_FOUND); an existing one must hold the marker and LevelDB's
 * CURRENT (STORE_CORRUPT naming what is missing), unless it holds nothing but hclckpt's own files
 * (a new store). Anything else, `''` included, is USAGE: hclckpt does not touch it.
 */
export async function prepareStoreDir(dir: string, readOnly: boolean): Promise<PreparedDir> {
  if (dir === '') throw new HclError('USAGE', 'store path is empty: give --store DIR');
  const notFound = () => new HclError('STORE_NOT_FOUND', `store ${dir}: no snapshot store here (hclckpt save or import creates one)`);
  try {
    let entries: string[];
    try {
      const st = await stat(dir);
      if (!st.isDirectory()) throw new HclError('USAGE', `store ${dir}: not a directory`);
      entries = await readdir(dir);
    } catch (e) {
      if (errno(e) !== 'ENOENT') throw e;
      if (readOnly) throw notFound();
      await makeDir(dir);
      await writeMarker(dir);
      return { create: true };
    }
    const marked = await hasMarker(dir);
    const foreign = entries.filter((f) => !OURS.has(f));
    if (!marked) {
      if (foreign.length > 0) {
        throw new HclError('USAGE', `store ${dir}: the directory holds files but no ${MARKER_FILE} marker, so it is not an hclckpt store; hclckpt will not touch it (a store made before markers: hclckpt store repair adopts it)`);
      }
      if (readOnly) throw notFound();
      await writeMarker(dir);
      return { create: true };
    }
    if (entries.includes('CURRENT')) {
      await checkCurrent(dir, entries);
      return { create: false };
    }
    if (foreign.length === 0) {
      if (readOnly) throw notFound();
      return { create: true };
    }
    throw new HclError('STORE_CORRUPT', `store ${dir}: LevelDB's CURRENT file is missing (${foreign.length} other database files remain); run hclckpt store repair`);
  } catch (e) {
    if (e instanceof HclError) throw e;
    throw new HclError('STORE_IO', `store ${dir}: cannot open: ${(e as Error).message}`, { cause: e });
  }
}
