import { HclError, isHclError } from '../errors.ts';
import { piecesOf } from './chunks.ts';
import { parseNameKey, textOf } from './keys.ts';
import { partProblem } from './read.ts';
import type { StoreSeams, StoreView, WriteOp } from './sublevels.ts';
import type { GcReport, Manifest, VerifyProblem, VerifyReport } from './types.ts';

/**
 * verify and gc: the two whole-store walks. They read the store's sublevels directly because a
 * damaged store must still be walkable; every write still goes through the store's one batch.
 */

/** Checks the manifest of `onlyId` (or every manifest, plus the name index) and each blob it refers to. */
export async function verifyStore(store: StoreView, onlyId?: string): Promise<VerifyReport> {
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

/**
 * Marks blobs (whole parts and chunks) from every manifest and deletes the rest in one batch; a
 * manifest it cannot read stops it. `seams.gcDropsLiveBlob` plants a defect for property tests.
 */
export async function gcStore(store: StoreView, write: (ops: WriteOp[]) => Promise<void>, seams: StoreSeams = {}): Promise<GcReport> {
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
    if (seams.gcDropsLiveBlob === true && live.has(textOf(k)) && !dead.some((d) => live.has(textOf(d)))) { dead.push(k); continue; } // TEST-ONLY seam, see lib/plant.ts
    if (live.has(textOf(k))) keptBlobs++;
    else dead.push(k);
  }
  let freedBytes = 0;
  for (const b of await blobs.getMany(dead)) freedBytes += b?.length ?? 0;
  if (dead.length > 0) await write(dead.map((key) => ({ sub: blobs, key })));
  return { removedBlobs: dead.length, freedBytes, keptBlobs };
}
