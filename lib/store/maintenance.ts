import { HclError, isHclError } from '../errors.ts';
import { BLOB_RAW } from './blob.ts';
import { piecesOf } from './chunks.ts';
import { parseNameKey, textOf } from './keys.ts';
import { partProblem } from './read.ts';
import type { SnapshotStore, WriteOp } from './store.ts';
import type { GcReport, Manifest, VerifyProblem, VerifyReport } from './types.ts';

/**
 * verify and gc: the two whole-store walks. They read the store's sublevels directly because a
 * damaged store must still be walkable; every write still goes through the store's one batch.
 */

/** Checks the manifest of `onlyId` (or every manifest, plus the name index) and each blob it refers to. */
export async function verifyStore(store: SnapshotStore, onlyId?: string): Promise<VerifyReport> {
  const { manifests, blobs, names } = store.sub;
  const ids: string[] = [];
  if (onlyId !== undefined) ids.push(onlyId);
  else for await (const k of manifests.keys()) ids.push(textOf(k));

  const problems: VerifyProblem[] = [];
  const seen = new Map<string, string | null>();
  const checked = new Set<string>();
  for (const id of ids) {
    let manifest: Manifest;
    try {
      manifest = (await store.loadManifest(id)).manifest;
    } catch (e) {
      if (!isHclError(e)) throw e;
      problems.push({ snapshot: id, part: null, problem: e.message });
      continue;
    }
    for (const p of manifest.parts) {
      for (const c of piecesOf(p)) checked.add(c.sha256);
      const problem = await partProblem(blobs, p, seen);
      if (problem !== null) problems.push({ snapshot: id, part: p.name, problem });
    }
  }
  if (onlyId === undefined) {
    const known = new Set(ids);
    for await (const [k, v] of names.iterator()) {
      const parsed = parseNameKey(k);
      const id = textOf(v);
      if (parsed === null) problems.push({ snapshot: id, part: null, problem: 'malformed name index key' });
      else if (!known.has(id)) problems.push({ snapshot: id, part: null, problem: `name index ${parsed.name}@${parsed.seq} points to a missing manifest` });
    }
  }
  return { snapshots: ids.length, blobs: checked.size, problems };
}

/** Marks blobs (whole parts and chunks) from every manifest and deletes the rest in one batch; a manifest it cannot read stops it. */
export async function gcStore(store: SnapshotStore, write: (ops: WriteOp[]) => Promise<void>): Promise<GcReport> {
  const { manifests, blobs } = store.sub;
  const live = new Set<string>();
  for await (const k of manifests.keys()) {
    try {
      for (const p of (await store.loadManifest(textOf(k))).manifest.parts) for (const c of piecesOf(p)) live.add(c.sha256);
    } catch (e) {
      // Sweeping with an incomplete mark would delete blobs a damaged manifest still needs.
      throw new HclError('STORE_CORRUPT', `gc refused: ${(e as Error).message}; run hclckpt verify, then rm the damaged snapshot`, { cause: e });
    }
  }
  const dead: Uint8Array[] = [];
  let keptBlobs = 0;
  for await (const k of blobs.keys()) {
    if (process.env['HCLCKPT_TEST_SEAM'] === 'gc-drops-live-blob' && live.has(textOf(k)) && !dead.some((d) => live.has(textOf(d)))) { dead.push(k); continue; } // TEST-ONLY seam, see properties/seams.ts
    if (live.has(textOf(k))) keptBlobs++;
    else dead.push(k);
  }
  let freedBytes = 0;
  for (const b of await blobs.getMany(dead)) freedBytes += b?.length ?? 0;
  if (dead.length > 0) await write(dead.map((key) => ({ sub: blobs, key })));
  return { removedBlobs: dead.length, freedBytes, keptBlobs };
}

/**
 * Ops that bring a format-1 store (blob values were the bare bytes) to format 2 (an encoding byte
 * first, BLOB_RAW here; blob.ts): the caller writes them in one batch with the new format mark.
 */
export async function migrateV1Blobs(store: SnapshotStore): Promise<WriteOp[]> {
  const ops: WriteOp[] = [];
  for await (const [k, v] of store.sub.blobs.iterator()) {
    const out = new Uint8Array(v.length + 1);
    out[0] = BLOB_RAW;
    out.set(v, 1);
    ops.push({ sub: store.sub.blobs, key: k, value: out });
  }
  return ops;
}
