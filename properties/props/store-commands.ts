import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { MemoryLevel } from 'memory-level';
import { sha256Hex } from '../../lib/bytes/index.ts';
import { isHclError } from '../../lib/errors.ts';
import { SnapshotStore, keyOf, splitPart, type GcReport, type PutResult } from '../../lib/store/index.ts';
import { mulberry32 } from '../../harness/workload.ts';
import type { Plant } from '../../lib/plant.ts';

/**
 * The store model: what a snapshot store should hold after any sequence of
 * save, restore, rm, gc, export/import, blob corruption and reopen, and the commands that drive
 * a real store (memory-level) and the model side by side.
 */

/** One part as the model knows it: its bytes and hash, and the blobs it is stored as. */
interface ModelPart { name: string; sha: string; bytes: Uint8Array; pieces: string[] }

/** One snapshot as the model knows it. */
interface ModelSnap { id: string; name: string; seq: number; parts: ModelPart[] }

/** The model: snapshots by id, blobs present, blobs whose stored bytes were damaged, seq counters. */
export interface StoreModel { snaps: ModelSnap[]; blobs: Set<string>; corrupt: Set<string>; seq: Map<string, number> }

/** The real system: the store, its backend (kept to reopen), a scratch directory and the scheduler of concurrent commands. */
export interface RealStore { store: SnapshotStore; db: MemoryLevel<Uint8Array, Uint8Array>; dir: string; s: fc.Scheduler | null; plant: Plant | undefined }

type Cmd = fc.AsyncCommand<StoreModel, RealStore>;

const NAMES = ['vm-a', 'vm-b'];
const TIME = '2026-01-01T00:00:00.000Z';
const noise = (seed: number, n: number): Uint8Array => {
  const r = mulberry32(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
};
const SHARED = noise(1, 40 * 1024);
/**
 * Deterministic part bytes of `seed` (0..5): small seeds repeat, so blobs dedup across snapshots;
 * seeds 4 and 5 are parts above the chunking threshold that share their first 40 KiB, so they
 * are stored as chunks and share some of them.
 */
const bytesOf = (seed: number): Uint8Array => {
  if (seed < 4) return Uint8Array.from({ length: 16 + (seed % 7) }, (_, i) => (seed * 37 + i) & 0xff);
  return Uint8Array.from([...SHARED, ...noise(seed, 4096)]);
};
/** Part `i` of a snapshot, from its seed: the stored blobs are its chunks when it is chunked. */
const partOf = (seed: number, i: number): ModelPart => {
  const bytes = bytesOf(seed);
  const sha = sha256Hex(bytes);
  return { name: `p${i}`, bytes, sha, pieces: [...new Set(splitPart(bytes, sha).pieces.map((c) => c.sha256))] };
};
const piecesOf = (parts: ModelPart[]): string[] => [...new Set(parts.flatMap((p) => p.pieces))];
const inputOf = (parts: ModelPart[]) => parts.map((p) => ({ name: p.name, bytes: p.bytes }));

const fail = (what: string): never => {
  throw new Error(what);
};
const isCorrupt = (m: StoreModel, snap: ModelSnap): boolean => snap.parts.some((p) => p.pieces.some((c) => m.corrupt.has(c)));
/**
 * Runs `ops` concurrently, each started when the inner scheduler says so. The inner scheduler is
 * not the one scheduledModelRun orders commands with: a command that waited on that one for its
 * own sub-tasks would deadlock, since the scheduler awaits the whole command as one task.
 */
async function together<T extends unknown[]>(r: RealStore, ops: { [K in keyof T]: [string, () => Promise<T[K]>] }): Promise<T> {
  const s = r.s;
  if (s === null) throw new TypeError('concurrent store commands need a scheduler');
  const all = Promise.all(ops.map(([label, op]) => s.schedule(Promise.resolve(label)).then(op)));
  return (await s.waitFor(all)) as T;
}

// The store under test, with the planted gc defect passed in when the run plants it.
const openModelStore = (db: MemoryLevel<Uint8Array, Uint8Array>, plant: Plant | undefined): Promise<SnapshotStore> =>
  SnapshotStore.open({ db, dir: 'model', ...(plant === 'gc-drops-live-blob' ? { seams: { gcDropsLiveBlob: true } } : {}) });

/** A fresh model and store; `plant` is the run's planted defect (only gc's reaches the store). */
export async function storeSetup(s: fc.Scheduler | null, plant: Plant | undefined): Promise<{ model: StoreModel; real: RealStore }> {
  const db = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' });
  const real = { store: await openModelStore(db, plant), db, dir: mkdtempSync(join(tmpdir(), 'hclckpt-model-')), s, plant };
  return { model: { snaps: [], blobs: new Set(), corrupt: new Set(), seq: new Map() }, real };
}

/** Closes the store and removes the scratch directory. */
export async function storeTeardown(real: RealStore): Promise<void> {
  await real.store.close();
  rmSync(real.dir, { recursive: true, force: true });
}

/**
 * save: a snapshot of 1–3 parts; seq is the next for the name, only unseen blobs are new, and
 * every damaged blob it needs is rewritten whole (a dedup hit is re-checked).
 */
async function save(m: StoreModel, r: RealStore, name: string, seeds: number[]): Promise<void> {
  const parts = seeds.map(partOf);
  const put = await r.store.putSnapshot({ name, parts: inputOf(parts), time: TIME, tool: 'model' });
  const shas = piecesOf(parts);
  const fresh = shas.filter((sha) => !m.blobs.has(sha)).length;
  const repaired = shas.filter((sha) => m.corrupt.has(sha)).sort();
  const seq = (m.seq.get(name) ?? 0) + 1;
  if (put.seq !== seq) fail(`save ${name}: seq ${put.seq}, model says ${seq}`);
  if (put.newBlobs !== fresh) fail(`save ${name}: wrote ${put.newBlobs} blobs, model says ${fresh} are new`);
  if ([...put.repairedBlobs].sort().join() !== repaired.join()) fail(`save ${name}: repaired ${put.repairedBlobs.length} blobs, model says ${repaired.length} were damaged`);
  for (const sha of repaired) m.corrupt.delete(sha);
  m.seq.set(name, seq);
  for (const sha of shas) m.blobs.add(sha);
  m.snaps.push({ id: put.id, name, seq, parts });
}

/** gc: removes exactly the blobs no snapshot refers to. */
async function gc(m: StoreModel, r: RealStore): Promise<void> {
  const live = new Set(m.snaps.flatMap((s) => piecesOf(s.parts)));
  const dead = [...m.blobs].filter((sha) => !live.has(sha)).length;
  const report = await r.store.gc();
  if (report.removedBlobs !== dead || report.keptBlobs !== live.size) fail(`gc removed ${report.removedBlobs} and kept ${report.keptBlobs}; model says ${dead} and ${live.size}`);
  m.blobs = live;
  m.corrupt = new Set([...m.corrupt].filter((sha) => live.has(sha)));
}

/** restore: a snapshot reads back byte for byte, or STORE_CORRUPT when one of its blobs is damaged. */
async function restore(m: StoreModel, r: RealStore, pick: number): Promise<void> {
  const snap = m.snaps[pick % m.snaps.length]!;
  try {
    const got = await r.store.getSnapshot(snap.id);
    if (isCorrupt(m, snap)) fail(`restore ${snap.name}@${snap.seq}: read a snapshot with a damaged blob`);
    for (const p of snap.parts) if (sha256Hex(got.parts.get(p.name) ?? new Uint8Array()) !== p.sha) fail(`restore ${snap.name}@${snap.seq}: part ${p.name} differs`);
  } catch (e) {
    if (!(isHclError(e, 'STORE_CORRUPT') && isCorrupt(m, snap))) throw e;
  }
}

/** The commands of the sequential model run. */
export function storeCommands(): Array<fc.Arbitrary<Cmd>> {
  const pickArb = fc.nat(15);
  const has = (m: Readonly<StoreModel>): boolean => m.snaps.length > 0;
  const cmd = (label: string, check: (m: Readonly<StoreModel>) => boolean, run: (m: StoreModel, r: RealStore) => Promise<void>): Cmd => ({
    check: (m) => check(m), run, toString: () => label,
  });
  return [
    fc.tuple(fc.constantFrom(...NAMES), fc.array(fc.nat(5), { minLength: 1, maxLength: 3 })).map(([name, seeds]) =>
      cmd(`save ${name} ${seeds.join(' ')}`, () => true, (m, r) => save(m, r, name, seeds))),
    pickArb.map((pick) => cmd(`restore ${pick}`, has, (m, r) => restore(m, r, pick))),
    pickArb.map((pick) => cmd(`rm ${pick}`, has, async (m, r) => {
      const snap = m.snaps[pick % m.snaps.length]!;
      await r.store.remove(snap.id);
      m.snaps = m.snaps.filter((s) => s !== snap);
    })),
    fc.constant(cmd('gc', () => true, gc)),
    pickArb.map((pick) => cmd(`export-import ${pick}`, has, async (m, r) => {
      const snap = m.snaps[pick % m.snaps.length]!;
      const file = join(r.dir, `${snap.id}.hclsnap`);
      try {
        await r.store.exportSnapshot(snap.id, file);
      } catch (e) {
        if (isHclError(e, 'STORE_CORRUPT') && isCorrupt(m, snap)) return; // export refuses a damaged snapshot
        throw e;
      }
      if (isCorrupt(m, snap)) fail(`export ${snap.name}@${snap.seq}: exported a snapshot with a damaged blob`);
      await r.store.remove(snap.id);
      const back = await r.store.importSnapshot(file);
      if (back.id !== snap.id || !back.imported) fail(`import ${snap.name}@${snap.seq}: got ${back.id.slice(0, 12)} imported=${back.imported}`);
    })),
    fc.tuple(pickArb, fc.nat(2)).map(([pick, part]) => cmd(`corrupt ${pick} ${part}`, has, async (m, r) => {
      const snap = m.snaps[pick % m.snaps.length]!;
      const p = snap.parts[part % snap.parts.length]!;
      const piece = p.pieces[part % p.pieces.length]!;
      await r.store.sub.blobs.put(keyOf(piece), Uint8Array.from(p.bytes.subarray(0, 64), (b) => b ^ 0xff));
      m.corrupt.add(piece);
    })),
    fc.constant(cmd('reopen', () => true, async (_m, r) => {
      await r.store.close();
      r.store = await openModelStore(r.db, r.plant);
    })),
  ];
}

/** Interleaving commands: two operations started together, each waiting for the scheduler. */
export function concurrentCommands(): Array<fc.Arbitrary<Cmd>> {
  return [
    fc.tuple(fc.constantFrom(...NAMES), fc.array(fc.nat(5), { minLength: 1, maxLength: 3 })).map(([name, seeds]): Cmd => ({
      // With damaged blobs the outcome would depend on the order (gc first rewrites them fresh).
      check: (m) => m.corrupt.size === 0,
      toString: () => `save ${name} ${seeds.join(' ')} || gc`,
      run: async (m, r) => {
        const parts = seeds.map(partOf);
        const [put] = await together<[PutResult, GcReport]>(r, [
          [`save ${name}`, () => r.store.putSnapshot({ name, parts: inputOf(parts), time: TIME, tool: 'model' })],
          ['gc', () => r.store.gc()],
        ]);
        const seq = (m.seq.get(name) ?? 0) + 1;
        if (put.seq !== seq) fail(`save ${name} || gc: seq ${put.seq}, model says ${seq}`);
        m.seq.set(name, seq);
        m.snaps.push({ id: put.id, name, seq, parts });
        for (const sha of piecesOf(parts)) m.blobs.add(sha);
        // Which dead blobs the racing gc removed depends on the order; a second gc settles it.
        await r.store.gc();
        m.blobs = new Set(m.snaps.flatMap((x) => piecesOf(x.parts)));
        await restore(m, r, m.snaps.length - 1);
      },
    })),
    fc.tuple(fc.array(fc.nat(5), { minLength: 1, maxLength: 2 }), fc.array(fc.nat(5), { minLength: 1, maxLength: 2 })).map(([a, b]): Cmd => ({
      check: () => true,
      toString: () => `save vm-a ${a.join(' ')} || save vm-a ${b.join(' ')}`,
      run: async (m, r) => {
        const seq = m.seq.get('vm-a') ?? 0;
        const put = (seeds: number[]) => (): Promise<PutResult> => r.store.putSnapshot({ name: 'vm-a', parts: inputOf(seeds.map(partOf)), time: TIME, tool: 'model' });
        const results = await together<[PutResult, PutResult]>(r, [['save a', put(a)], ['save b', put(b)]]);
        const seqs = results.map((x) => x.seq).sort((x, y) => x - y);
        if (seqs.join() !== `${seq + 1},${seq + 2}`) fail(`concurrent saves got seqs ${seqs.join(',')}, expected ${seq + 1},${seq + 2}`);
        m.seq.set('vm-a', seq + 2);
        // A damaged blob either save needs is rewritten whole by one of them (whichever checks it first).
        const needed = new Set([...piecesOf(a.map(partOf)), ...piecesOf(b.map(partOf))]);
        const damaged = [...m.corrupt].filter((sha) => needed.has(sha)).sort();
        const repaired = [...new Set(results.flatMap((x) => x.repairedBlobs))].sort();
        if (repaired.join() !== damaged.join()) fail(`concurrent saves repaired ${repaired.length} blobs, model says ${damaged.length} were damaged`);
        for (const sha of damaged) m.corrupt.delete(sha);
        results.forEach((x, i) => {
          const parts = ([a, b][i] ?? []).map(partOf);
          for (const sha of piecesOf(parts)) m.blobs.add(sha);
          m.snaps.push({ id: x.id, name: 'vm-a', seq: x.seq, parts });
        });
      },
    })),
  ];
}
