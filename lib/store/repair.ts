import { readdir, stat } from 'node:fs/promises';
import { HclError, isHclError } from '../errors.ts';
import { hasCode, repairLevelDb, storeDir } from './backend.ts';
import { hasLevelDbFiles, hasMarker, rewriteMarker } from './identity.ts';
import { SnapshotStore, type MissingSnapshot } from './store.ts';

/** One snapshot in a repair report. */
export interface RepairedSnapshot {
  id: string;
  name: string;
  seq: number;
}

/** What `store repair` found after LevelDB's repair: each snapshot whole, damaged or gone. */
export interface RepairReport {
  dir: string;
  /** Snapshots that read back whole (every hash checked). */
  whole: RepairedSnapshot[];
  /** Snapshots still listed whose manifest or blobs are damaged or missing, with the problems. */
  damaged: Array<RepairedSnapshot & { problems: string[] }>;
  /** Snapshots the journal records as committed that are not in the store any more. */
  gone: MissingSnapshot[];
  /** Other problems verify reported (damaged journal lines, stray name entries). */
  other: string[];
}

// LevelDB's RepairDB does not take the store's lock, so a holder is detected by opening first.
async function refuseIfLocked(dir: string): Promise<void> {
  const { ClassicLevel } = await import('classic-level');
  const db = new ClassicLevel(dir, { createIfMissing: false });
  try {
    await db.open();
    await db.close();
  } catch (e) {
    if (hasCode(e, 'LEVEL_LOCKED')) throw new HclError('STORE_LOCKED', `store ${dir}: locked by another hclckpt process; repair needs it alone`, { cause: e });
  }
}

/**
 * `hclckpt store repair`: runs LevelDB's RepairDB (it rebuilds CURRENT and MANIFEST from the
 * table and log files that remain, and moves unreadable ones to `lost/`), restores the store
 * marker, then verifies every snapshot. What LevelDB lost cannot come back; the journal names it.
 */
export async function repairStore(dirArg: string): Promise<RepairReport> {
  const dir = storeDir(dirArg);
  let names: string[];
  try {
    if (!(await stat(dir)).isDirectory()) throw new HclError('USAGE', `store ${dir}: not a directory`);
    names = await readdir(dir);
  } catch (e) {
    if (isHclError(e)) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new HclError('STORE_NOT_FOUND', `store ${dir}: no snapshot store here`);
    throw new HclError('STORE_IO', `store ${dir}: cannot read: ${(e as Error).message}`, { cause: e });
  }
  const marked = await hasMarker(dir).catch((e: unknown) => (isHclError(e, 'STORE_CORRUPT') ? true : Promise.reject(e)));
  if (!marked && !hasLevelDbFiles(names)) throw new HclError('USAGE', `store ${dir}: neither a store marker nor LevelDB files here; nothing to repair`);
  await refuseIfLocked(dir);
  await repairLevelDb(dir);
  await rewriteMarker(dir);
  const store = await SnapshotStore.open({ dir });
  try {
    const report = await store.verify();
    const byId = new Map<string, string[]>();
    const other: string[] = [];
    const goneIds = new Set((await store.missing()).missing.map((m) => m.id));
    for (const p of report.problems) {
      if (goneIds.has(p.snapshot)) continue;
      const list = byId.get(p.snapshot) ?? [];
      list.push(p.part === null ? p.problem : `part ${p.part}: ${p.problem}`);
      byId.set(p.snapshot, list);
    }
    const whole: RepairedSnapshot[] = [];
    const damaged: RepairReport['damaged'] = [];
    const listed = new Set<string>();
    for await (const k of store.sub.manifests.keys()) {
      const id = Buffer.from(k).toString('utf8');
      listed.add(id);
      const m = await store.loadManifest(id).then((x) => x.manifest, () => null);
      const entry = { id, name: m?.name ?? '?', seq: m?.seq ?? 0 };
      const problems = byId.get(id);
      if (problems === undefined) whole.push(entry);
      else damaged.push({ ...entry, problems });
    }
    for (const [id, problems] of byId) if (!listed.has(id)) other.push(...problems.map((p) => `${id.slice(0, 12)}: ${p}`));
    return { dir, whole, damaged, gone: (await store.missing()).missing, other };
  } finally {
    await store.close();
  }
}
