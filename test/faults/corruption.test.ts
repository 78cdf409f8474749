import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MemoryLevel } from 'memory-level';
import { presetConfig } from '../../lib/config/index.ts';
import { SnapshotStore, piecesOf, type Snapshot } from '../../lib/store/index.ts';
import { keyOf, textOf } from '../../lib/store/keys.ts';
import { bootWithWorkload, restoreSnapshot, saveVm } from '../../harness/servicing.ts';
import { runWorkload } from '../../harness/workload.ts';
import { SEED, codeOf, count, damage, rng, tempDir, type Rng } from './helpers.ts';

/**
 * Corruption: random byte flips and truncations of stored blobs and manifests (written through the
 * store's abstract-level sublevels) and of `.hclsnap` files. Every one must be detected with
 * STORE_CORRUPT / ARCHIVE_CORRUPT naming the snapshot (and part), restore and import must refuse,
 * and every snapshot the damage does not touch must still read back whole.
 */

const STORE_TRIALS = count(300, 5000);
const ARCHIVE_TRIALS = count(200, 3000);

type Reader = (store: SnapshotStore, id: string) => Promise<Snapshot>;
const checkedRead: Reader = (store, id) => store.getSnapshot(id);

/** Three snapshots of one VM, one workload step apart, so most blobs are shared. */
async function seededStore(): Promise<{ store: SnapshotStore; ids: string[]; users: Map<string, Array<{ id: string; part: string }>> }> {
  const store = await SnapshotStore.open({ db: new MemoryLevel(), dir: 'corruption-test' });
  const vm = bootWithWorkload(presetConfig('small'), { seed: 3, steps: 200 });
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    ids.push((await saveVm(vm, store)).id);
    vm.servicing.resume();
    runWorkload(vm.units, vm.hv, { seed: 40 + i, steps: 1 });
  }
  const users = new Map<string, Array<{ id: string; part: string }>>();
  for (const id of ids) {
    // A blob is a whole part or one chunk of a large one (lib/store/chunks.ts).
    for (const p of (await store.getManifest(id)).parts) {
      for (const sha of new Set(piecesOf(p).map((c) => c.sha256))) users.set(sha, [...(users.get(sha) ?? []), { id, part: p.name }]);
    }
  }
  return { store, ids, users };
}

/** Damages one stored value, checks detection and isolation, puts the value back; returns problems. */
async function storeTrial(s: Awaited<ReturnType<typeof seededStore>>, r: Rng, read: Reader): Promise<string[]> {
  const { store, ids, users } = s;
  const manifest = r.int(2) === 0;
  const key = manifest ? r.pick(ids) : r.pick([...users.keys()]);
  const sub = manifest ? store.sub.manifests : store.sub.blobs;
  const original = (await sub.get(keyOf(key))) as Uint8Array;
  const d = damage(original, r);
  const where = `${manifest ? 'manifest' : 'blob'} ${key.slice(0, 12)} ${d.what}`;
  const hit = manifest ? [{ id: key, part: null as string | null }] : (users.get(key) ?? []).map((u) => ({ id: u.id, part: u.part as string | null }));
  const problems: string[] = [];
  await sub.put(keyOf(key), d.bytes);
  try {
    const report = await store.verify();
    const got = report.problems.map((p) => `${p.snapshot}/${String(p.part)}`).sort();
    const want = hit.map((h) => `${h.id}/${String(h.part)}`).sort();
    if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`${where}: verify reported [${got.join(', ')}], expected [${want.join(', ')}]`);
    for (const id of ids) {
      const damaged = hit.filter((h) => h.id === id);
      try {
        await read(store, id);
        if (damaged.length > 0) problems.push(`${where}: snapshot ${id.slice(0, 12)} read back without an error`);
      } catch (e) {
        const msg = (e as Error).message;
        if (damaged.length === 0) problems.push(`${where}: untouched snapshot ${id.slice(0, 12)} failed: ${codeOf(e)}: ${msg}`);
        else if (codeOf(e) !== 'STORE_CORRUPT' || !msg.includes(id) || damaged.some((h) => h.part !== null && !msg.includes(`part ${h.part}`))) {
          problems.push(`${where}: snapshot ${id.slice(0, 12)}: ${codeOf(e)}: ${msg} does not name it`);
        }
      }
    }
    const victim = hit[0];
    if (victim !== undefined) {
      try {
        await restoreSnapshot(store, victim.id);
        problems.push(`${where}: restore of ${victim.id.slice(0, 12)} went ahead`);
      } catch (e) {
        if (codeOf(e) !== 'STORE_CORRUPT') problems.push(`${where}: restore refused with ${codeOf(e)}, not STORE_CORRUPT`);
      }
    }
  } finally {
    await sub.put(keyOf(key), original);
  }
  return problems;
}

test(`corruption: ${STORE_TRIALS} damaged blobs and manifests are all detected, named and refused`, async () => {
  const s = await seededStore();
  const r = rng(SEED);
  const problems: string[] = [];
  for (let t = 0; t < STORE_TRIALS; t++) problems.push(...(await storeTrial(s, r, checkedRead)));
  assert.equal(problems.slice(0, 10), [], `seed ${SEED}: ${problems.length} problems`);
  assert.equal((await s.store.verify()).problems, [], 'the store is whole again once every value is put back');
  const res = await restoreSnapshot(s.store, s.ids[2] as string);
  assert.ok(res.proof.ok);
  await s.store.close();
});

test('corruption check catches a store that does not re-hash what it reads (planted defect)', async () => {
  const s = await seededStore();
  // The defect: parts come back as stored, unchecked.
  const trusting: Reader = async (store, id) => {
    const m = await store.getManifest(id);
    const blobs = await store.sub.blobs.getMany(m.parts.map((p) => keyOf(p.sha256)));
    return { manifest: m, parts: new Map(m.parts.map((p, i) => [p.name, blobs[i] as Uint8Array])) };
  };
  const r = rng(SEED + 1);
  const problems: string[] = [];
  for (let t = 0; t < 40; t++) problems.push(...(await storeTrial(s, r, trusting)));
  assert.ok(problems.some((p) => p.includes('read back without an error')), problems.join('\n'));
  await s.store.close();
});

/** The code a damaged archive must give: magic and version damage is ARCHIVE_INVALID, the rest ARCHIVE_CORRUPT. */
function expectedArchiveCode(what: string, length: number): string {
  const at = /^flip at (\d+)$/.exec(what);
  if (at !== null) return Number(at[1]) < 12 ? 'ARCHIVE_INVALID' : 'ARCHIVE_CORRUPT';
  return length < 8 ? 'ARCHIVE_INVALID' : 'ARCHIVE_CORRUPT';
}

test(`corruption: ${ARCHIVE_TRIALS} damaged .hclsnap files are refused and the store stays as it was`, async () => {
  const s = await seededStore();
  const dir = await tempDir();
  const good = join(dir, 'good.hclsnap');
  await s.store.exportSnapshot(s.ids[1] as string, good);
  const bytes = new Uint8Array(await (await import('node:fs/promises')).readFile(good));
  const target = await SnapshotStore.open({ db: new MemoryLevel(), dir: 'import-target' });
  const keysOf = async () => { const out: string[] = []; for (const sub of Object.values(target.sub)) for await (const k of sub.keys()) out.push(textOf(k)); return out.join(','); };
  const before = await keysOf();
  const r = rng(SEED + 2);
  const problems: string[] = [];
  for (let t = 0; t < ARCHIVE_TRIALS; t++) {
    const d = damage(bytes, r);
    const file = join(dir, `t${t % 4}.hclsnap`);
    await writeFile(file, d.bytes);
    const want = expectedArchiveCode(d.what, d.bytes.length);
    try {
      await target.importSnapshot(file);
      problems.push(`${d.what}: import went ahead`);
    } catch (e) {
      if (codeOf(e) !== want || !(e as Error).message.startsWith(file)) problems.push(`${d.what}: ${codeOf(e)} (want ${want}): ${(e as Error).message}`);
    }
  }
  assert.equal(problems.slice(0, 10), [], `seed ${SEED}: ${problems.length} problems`);
  assert.is(await keysOf(), before, 'refused imports wrote nothing');
  assert.is((await target.importSnapshot(good)).imported, true, 'the undamaged file still imports');
  await target.close();
  await s.store.close();
});

test.run();
