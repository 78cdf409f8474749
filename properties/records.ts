import { decodeCanonical, encodeCanonical } from '../lib/state/index.ts';
import { keyOf, textOf, type SnapshotStore } from '../lib/store/index.ts';

/**
 * Property-run records (what `hclckpt prop` keeps to list and replay runs), in the `runs`
 * sublevel of the snapshot store's database: beside the snapshots, so one `--store DIR` holds
 * both and one lock guards both, but no part of snapshots, verify or gc. Each record is a
 * canonical-msgpack value keyed by its run id.
 */

/** Stores a run record under `id`, replacing any earlier one. */
export async function putRun(store: SnapshotStore, id: string, record: unknown): Promise<void> {
  await store.sub.runs.put(keyOf(id), encodeCanonical(record));
}

/** The run record stored under `id`, or undefined. */
export async function getRun(store: SnapshotStore, id: string): Promise<unknown> {
  const v = await store.sub.runs.get(keyOf(id));
  return v === undefined ? undefined : decodeCanonical(v, `store ${store.location}: run ${id}`);
}

/** Every run record, ordered by id. */
export async function listRuns(store: SnapshotStore): Promise<Array<{ id: string; record: unknown }>> {
  const out: Array<{ id: string; record: unknown }> = [];
  for await (const [k, v] of store.sub.runs.iterator()) out.push({ id: textOf(k), record: decodeCanonical(v, `store ${store.location}: run ${textOf(k)}`) });
  return out;
}

/** Deletes a run record (no error if absent). */
export async function deleteRun(store: SnapshotStore, id: string): Promise<void> {
  await store.sub.runs.del(keyOf(id));
}
