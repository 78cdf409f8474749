import { resolve } from 'node:path';
import type { AbstractLevel } from 'abstract-level';
import { HclError } from '../errors.ts';
import { prepareStoreDir } from './identity.ts';

/**
 * Any abstract-level database. The store creates its own sublevels with `view` encodings, so the
 * root's default encodings do not matter — hence the open type parameters.
 */
export type StoreDb = AbstractLevel<any, any, any>;

/** Store directory used when no `--store` (or HCLCKPT_STORE, resolved by the CLI) is given. */
export const DEFAULT_STORE_DIR = '.hclckpt';

/** The store directory: the argument, else `./.hclckpt`; absolute. An empty path is USAGE. */
export function storeDir(dir?: string): string {
  if (dir === '') throw new HclError('USAGE', 'store path is empty: give --store DIR');
  return resolve(dir ?? DEFAULT_STORE_DIR);
}

/** True when `e` or any error in its `cause` chain has the given `code`. */
export function hasCode(e: unknown, code: string): boolean {
  for (let c = e, depth = 0; typeof c === 'object' && c !== null && depth < 16; c = (c as { cause?: unknown }).cause, depth++) {
    if ((c as { code?: unknown }).code === code) return true;
  }
  return false;
}

// Some LevelDB failures (an iterator over a damaged block) arrive without a code, only with
// LevelDB's status text, which always starts with the status kind.
function hasLevelDbStatus(e: unknown): boolean {
  for (let c = e, depth = 0; c instanceof Error && depth < 16; c = (c as { cause?: unknown }).cause, depth++) {
    if (/^(Corruption|IO error): /.test(c.message)) return true;
  }
  return false;
}

/**
 * The typed form of an error LevelDB raised while reading or writing damaged files (a truncated
 * table, a bad block): STORE_CORRUPT naming the store. Any other error is returned as it is.
 */
export function backendError(e: unknown, location: string): unknown {
  if (e instanceof HclError) return e;
  if (hasCode(e, 'LEVEL_CORRUPTION') || hasCode(e, 'LEVEL_IO_ERROR') || hasLevelDbStatus(e)) {
    return new HclError('STORE_CORRUPT', `store ${location}: LevelDB cannot read its files: ${(e as Error).message} (run hclckpt store repair)`, { cause: e });
  }
  return e;
}

/**
 * Opens the LevelDB store at `dir` with classic-level, after identity.ts has checked the
 * directory: LevelDB may create a database only in a new store, never in an existing one.
 * LevelDB lets one process hold a store; a second one gets STORE_LOCKED instead of waiting.
 */
export async function openLevelDb(dir: string, readOnly = false): Promise<StoreDb> {
  const { create } = await prepareStoreDir(dir, readOnly);
  const { ClassicLevel } = await import('classic-level');
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view', createIfMissing: create, errorIfExists: false });
  try {
    await db.open();
  } catch (e) {
    // classic-level reports LEVEL_DATABASE_NOT_OPEN with the lock failure as its cause.
    if (hasCode(e, 'LEVEL_LOCKED')) {
      throw new HclError(
        'STORE_LOCKED',
        `store ${dir}: locked by another hclckpt process (LevelDB allows one at a time); wait for it to finish, or use --store DIR for a different store`,
        { cause: e },
      );
    }
    const inner = String((e as { cause?: { message?: unknown } }).cause?.message ?? (e as Error).message);
    const damaged = hasCode(e, 'LEVEL_CORRUPTION') || /corrupt|does not exist|No such file/i.test(inner);
    throw new HclError(damaged ? 'STORE_CORRUPT' : 'STORE_IO', `store ${dir}: cannot open: ${inner}${damaged ? ' (run hclckpt store repair)' : ''}`, { cause: e });
  }
  return db;
}

/** Runs LevelDB's RepairDB on `dir`: rebuilds its metadata from whatever table and log files remain. */
export async function repairLevelDb(dir: string): Promise<void> {
  const { ClassicLevel } = await import('classic-level');
  try {
    await ClassicLevel.repair(dir);
  } catch (e) {
    throw new HclError('STORE_IO', `store ${dir}: repair failed: ${(e as Error).message}`, { cause: e });
  }
}
