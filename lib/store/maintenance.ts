import { sha256Hex } from '../bytes/index.ts';
import { HclError, isHclError } from '../errors.ts';
import { keyOf, parseNameKey, textOf } from './keys.ts';
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
  const blobProblem = new Map<string, string | null>();
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
      if (!blobProblem.has(p.sha256)) {
        const b = await blobs.get(keyOf(p.sha256));
        blobProblem.set(p.sha256, b === undefined ? 'blob is missing' : sha256Hex(b) !== p.sha256 ? 'blob bytes do not match its sha256' : b.length !== p.size ? `blob is ${b.length} bytes, manifest says ${p.size}` : null);
      }
      const problem = blobProblem.get(p.sha256);
      if (problem != null) problems.push({ snapshot: id, part: p.name, problem });
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
  return { snapshots: ids.length, blobs: blobProblem.size, problems };
}

/** Marks blobs from every manifest and deletes the rest in one batch; a manifest it cannot read stops it. */
export async function gcStore(store: SnapshotStore, write: (ops: WriteOp[]) => Promise<void>): Promise<GcReport> {
  const { manifests, blobs } = store.sub;
  const live = new Set<string>();
  for await (const k of manifests.keys()) {
    try {
      for (const p of (await store.loadManifest(textOf(k))).manifest.parts) live.add(p.sha256);
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
