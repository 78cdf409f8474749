import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { presetConfig } from '../../lib/config/index.ts';
import { isHclError } from '../../lib/errors.ts';
import { JOURNAL_FILE, MARKER_FILE, openStore, type SnapshotStore } from '../../lib/store/index.ts';
import { bootWithWorkload, restoreSnapshot, saveVm } from '../../harness/servicing.ts';
import { SEED, codeOf, count, rng, tempDir, type Rng } from './helpers.ts';

/**
 * File-level damage soak (issue 12): copy a store, then delete, truncate or flip bytes in one
 * random file of it (CURRENT, MANIFEST-*, *.log, *.ldb, the journal, the marker), and run what
 * `ls`, `verify`, `restore` and `save` run. After every trial either the command refused with a
 * typed error and removed no file of the store, or every snapshot it lists restores with proof
 * (or verify names it damaged and reading it fails typed) and every snapshot it lost is reported
 * as committed but missing.
 */

const TRIALS = count(200, 5000);

/** A store of four small-VM snapshots written in three sessions: tables, a log, a journal. */
async function pristine(): Promise<{ dir: string; ids: string[] }> {
  const dir = join(await tempDir(), 'pristine');
  const ids: string[] = [];
  for (const seeds of [[1, 2], [3], [4]]) {
    const s = await openStore(dir);
    for (const seed of seeds) ids.push((await saveVm(bootWithWorkload(presetConfig('small'), { seed, steps: 20 }), s, { name: `vm${seed}` })).id);
    await s.close();
  }
  return { dir, ids };
}

type Target = 'CURRENT' | 'MANIFEST' | 'log' | 'ldb' | 'journal' | 'marker';
const TARGETS: readonly Target[] = ['CURRENT', 'MANIFEST', 'log', 'ldb', 'journal', 'marker'];

function targetOf(name: string): Target | null {
  if (name === 'CURRENT') return 'CURRENT';
  if (/^MANIFEST-\d+$/.test(name)) return 'MANIFEST';
  if (/^\d+\.log$/.test(name)) return 'log';
  if (/^\d+\.(ldb|sst)$/.test(name)) return 'ldb';
  if (name === JOURNAL_FILE) return 'journal';
  if (name === MARKER_FILE) return 'marker';
  return null;
}

/** Damages one file of the kind `target` in `dir`; returns what was done. */
async function hurt(dir: string, target: Target, r: Rng): Promise<string> {
  const files = (await readdir(dir)).filter((f) => targetOf(f) === target).sort();
  const file = files[r.int(files.length)];
  if (file === undefined) return `no ${target} file`;
  const path = join(dir, file);
  const bytes = await readFile(path);
  switch (r.int(3)) {
    case 0:
      await rm(path);
      return `${file}: deleted`;
    case 1: {
      const len = r.int(Math.max(1, bytes.length));
      await truncate(path, len);
      return `${file}: truncated to ${len} of ${bytes.length}`;
    }
    default: {
      const n = 1 + r.int(8);
      for (let i = 0; i < n && bytes.length > 0; i++) {
        const at = r.int(bytes.length);
        bytes[at] = (bytes[at] as number) ^ (1 + r.int(255));
      }
      await writeFile(path, bytes);
      return `${file}: ${n} byte(s) flipped`;
    }
  }
}

/** What one trial saw. */
interface Outcome { refused: string[]; lostReported: number; restores: number; damagedReported: number; problems: string[] }

/**
 * A refusal must be typed and leave the store's files in place. One exception is LevelDB's own:
 * once its open succeeded (a new MANIFEST proves it) it has folded the log into a new table and
 * replaced the MANIFEST, so an old log and MANIFEST may go; a table, the journal or the marker never.
 */
async function refusal(dir: string, before: string[], what: string, e: unknown, out: Outcome): Promise<void> {
  if (!isHclError(e)) {
    out.problems.push(`${what}: ${codeOf(e)}: ${(e as Error).message}`);
    return;
  }
  out.refused.push(`${what}:${e.code}`);
  const now = await readdir(dir);
  const reopened = now.some((f) => targetOf(f) === 'MANIFEST' && !before.includes(f));
  const folded = (f: string) => reopened && (targetOf(f) === 'log' || targetOf(f) === 'MANIFEST');
  for (const f of before) if (!now.includes(f) && !folded(f)) out.problems.push(`${what} refused with ${e.code} but ${f} was removed`);
}

/** ls + verify + restore on a read-only open, checked against the ids the pristine store held. */
async function readSide(store: SnapshotStore, ids: readonly string[], out: Outcome): Promise<void> {
  // Through the store's API only: a direct read of its sublevels would bypass the error
  // translation the commands get, and judge the store by what no command does.
  const present: string[] = [];
  for (const id of ids) if (await store.resolve(id).then(() => true, (e: unknown) => (isHclError(e, 'STORE_NOT_FOUND') ? false : Promise.reject(e)))) present.push(id);
  const listed = await store.list().then((l) => l.map((m) => m.id), (e: unknown) => {
    if (!isHclError(e, 'STORE_CORRUPT')) throw e;
    return present; // ls refuses naming the damaged manifest; verify below must report it
  });
  const { missing } = await store.missing();
  const report = await store.verify();
  const damaged = new Set(report.problems.map((p) => p.snapshot));
  const gone = new Set(missing.map((m) => m.id));
  for (const id of ids) {
    if (present.includes(id)) continue;
    if (gone.has(id) && damaged.has(id)) out.lostReported++;
    else out.problems.push(`snapshot ${id.slice(0, 12)} is gone and neither ls nor verify reports it`);
  }
  for (const id of listed) {
    if (damaged.has(id)) {
      out.damagedReported++;
      const e = await store.getSnapshot(id).then(() => null, (x: unknown) => x);
      if (!isHclError(e)) out.problems.push(`snapshot ${id.slice(0, 12)}: verify reports it damaged but it reads (${codeOf(e)})`);
      continue;
    }
    const res = await restoreSnapshot(store, id).catch((e: unknown) => e);
    if (res instanceof Error || !(res as { proof: { ok: boolean } }).proof.ok) out.problems.push(`snapshot ${id.slice(0, 12)}: verify says whole but restore with proof failed: ${res instanceof Error ? codeOf(res) : 'proof'}`);
    else out.restores++;
  }
}

async function trial(src: string, ids: readonly string[], r: Rng): Promise<Outcome & { what: string }> {
  const dir = join(await tempDir('hclckpt-damage-'), 'store');
  await cp(src, dir, { recursive: true });
  const what = await hurt(dir, r.pick(TARGETS), r);
  const out: Outcome = { refused: [], lostReported: 0, restores: 0, damagedReported: 0, problems: [] };
  const before = await readdir(dir);
  let ro: SnapshotStore | null = null;
  try {
    ro = await openStore(dir, { readOnly: true });
  } catch (e) {
    await refusal(dir, before, 'ls', e, out);
  }
  if (ro !== null) {
    try {
      await readSide(ro, ids, out);
    } catch (e) {
      await refusal(dir, before, 'read', e, out);
    } finally {
      await ro.close();
    }
  }
  const beforeSave = await readdir(dir);
  let rw: SnapshotStore | null = null;
  try {
    rw = await openStore(dir);
  } catch (e) {
    await refusal(dir, beforeSave, 'save', e, out);
  }
  if (rw !== null) {
    try {
      const saved = await saveVm(bootWithWorkload(presetConfig('small'), { seed: 9, steps: 5 }), rw, { name: 'after' });
      const back = await rw.getSnapshot(saved.id);
      if (back.manifest.id !== saved.id) out.problems.push('save: the new snapshot does not read back');
    } catch (e) {
      // A save into a store whose tables are damaged may refuse, typed, leaving what was there.
      await refusal(dir, beforeSave, 'save', e, out);
    } finally {
      await rw.close();
    }
  }
  await rm(dir, { recursive: true, force: true });
  return { ...out, what };
}

test(`damage: ${TRIALS} random file-level damages of a store are refused typed or reported, never silent`, async () => {
  const { dir, ids } = await pristine();
  const r = rng(SEED);
  const problems: string[] = [];
  const refused = new Map<string, number>();
  let [lost, restores, damaged] = [0, 0, 0];
  for (let t = 0; t < TRIALS; t++) {
    const o = await trial(dir, ids, r);
    for (const x of o.refused) refused.set(x, (refused.get(x) ?? 0) + 1);
    lost += o.lostReported;
    restores += o.restores;
    damaged += o.damagedReported;
    problems.push(...o.problems.map((p) => `trial ${t} (${o.what}): ${p}`));
  }
  assert.equal(problems, [], `seed ${SEED}`);
  assert.ok(restores > 0 && refused.size > 0, 'the trials exercised both the refusal and the restore path');
  const codes = [...refused].sort().map(([k, n]) => `${k} ${n}`).join(', ');
  process.stderr.write(`damage: ${TRIALS} trials, ${restores} restores with proof, ${lost} lost snapshots reported, ${damaged} damaged snapshots reported; refusals: ${codes}\n`);
});

test('damage check catches a loss nobody reports (planted: the journal deleted with the newest log)', async () => {
  const { dir, ids } = await pristine();
  const logs = (await readdir(dir)).filter((f) => targetOf(f) === 'log');
  for (const f of [...logs, JOURNAL_FILE]) await rm(join(dir, f));
  const out: Outcome = { refused: [], lostReported: 0, restores: 0, damagedReported: 0, problems: [] };
  const store = await openStore(dir, { readOnly: true });
  try {
    await readSide(store, ids, out);
  } finally {
    await store.close();
  }
  assert.equal(out.problems, [`snapshot ${(ids[3] as string).slice(0, 12)} is gone and neither ls nor verify reports it`]);
});

test.run();
