import { resolve } from 'node:path';
import type { AbstractLevel } from 'abstract-level';
import { HclError } from '../errors.ts';

/**
 * Any abstract-level database. The store creates its own sublevels with `view` encodings, so the
 * root's default encodings do not matter — hence the open type parameters.
 */
export type StoreDb = AbstractLevel<any, any, any>;

/** Store directory used when neither `--store` nor HCLCKPT_STORE is given. */
export const DEFAULT_STORE_DIR = '.hclckpt';

/** The store directory: the argument, else env HCLCKPT_STORE, else `./.hclckpt`; absolute. */
export function storeDir(dir?: string): string {
  const env = process.env['HCLCKPT_STORE'];
  return resolve(dir ?? (env !== undefined && env !== '' ? env : DEFAULT_STORE_DIR));
}

/** True when `e` or any error in its `cause` chain has the given `code`. */
export function hasCode(e: unknown, code: string): boolean {
  for (let c = e, depth = 0; typeof c === 'object' && c !== null && depth < 16; c = (c as { cause?: unknown }).cause, depth++) {
    if ((c as { code?: unknown }).code === code) return true;
  }
  return false;
}

/**
 * Opens (creating if missing) the LevelDB store at `dir` with classic-level. LevelDB lets one
 * process hold a store; a second one gets STORE_LOCKED instead of waiting or corrupting it.
 */
export async function openLevelDb(dir: string): Promise<StoreDb> {
  const { ClassicLevel } = await import('classic-level');
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
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
    const inner = (e as { cause?: { message?: unknown } }).cause?.message;
    throw new HclError('STORE_IO', `store ${dir}: cannot open: ${String(inner ?? (e as Error).message)}`, { cause: e });
  }
  return db;
}
