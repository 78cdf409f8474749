import { inflateRawSync } from 'node:zlib';
import { sha256Hex } from '../bytes/index.ts';
import { HclError } from '../errors.ts';
import { decodeCanonical, encodeCanonical } from '../state/codec.ts';
import { BLOB_DEFLATE, BLOB_RAW } from './blob.ts';
import { CHUNKING } from './chunks.ts';
import { keyOf, textOf } from './keys.ts';
import type { StoreView, WriteOp } from './sublevels.ts';

/**
 * Store format kept under meta/format; bumped only with a migration. 2: blob values carry an
 * encoding byte (raw or deflate, blob.ts). A format-1 store is migrated by the first command
 * that writes, and only when its blobs prove it is format 1.
 */
export const STORE_FORMAT = 2;

const FORMAT_KEY = keyOf('format');

// Whether a stored value is a format-2 blob of `sha`: format-2 blobs are whole parts up to
// CHUNKING.threshold or chunks up to CHUNKING.max, so inflation is bounded by the latter.
function isFormat2Blob(v: Uint8Array, sha: string): boolean {
  if (v[0] === BLOB_RAW) return sha256Hex(v.subarray(1)) === sha;
  if (v[0] !== BLOB_DEFLATE) return false;
  try {
    return sha256Hex(inflateRawSync(v.subarray(1), { maxOutputLength: CHUNKING.max })) === sha;
  } catch {
    return false;
  }
}

/**
 * Ops that bring a format-1 store (blob values were the bare bytes) to format 2 (an encoding byte
 * first, BLOB_RAW here), or STORE_CORRUPT when any blob is already a format-2 value: then the
 * format mark is wrong, and wrapping would damage every blob.
 */
async function migrateV1Blobs(store: StoreView): Promise<WriteOp[]> {
  const ops: WriteOp[] = [];
  for await (const [k, v] of store.sub.blobs.iterator()) {
    const sha = textOf(k);
    if (sha256Hex(v) !== sha && isFormat2Blob(v, sha)) {
      throw new HclError('STORE_CORRUPT', `store ${store.location}: meta says store format 1, but blob ${sha.slice(0, 12)} is a format-${STORE_FORMAT} value; refusing to migrate (the format mark is damaged)`);
    }
    const out = new Uint8Array(v.length + 1);
    out[0] = BLOB_RAW;
    out.set(v, 1);
    ops.push({ sub: store.sub.blobs, key: k, value: out });
  }
  return ops;
}

async function holdsData(store: StoreView): Promise<boolean> {
  for (const sub of [store.sub.manifests, store.sub.blobs, store.sub.names]) {
    for await (const _ of sub.keys({ limit: 1 })) return true;
  }
  return false;
}

/**
 * Checks the store format on open. An empty store gets the current mark; a format-1 store is
 * migrated in one batch (refused on a read-only open); a missing mark on a store with data, an
 * unreadable mark or an unknown format is refused, never guessed.
 */
export async function checkFormat(store: StoreView, readOnly: boolean, write: (ops: WriteOp[]) => Promise<void>): Promise<void> {
  const mark = [{ sub: store.sub.meta, key: FORMAT_KEY, value: encodeCanonical({ format: STORE_FORMAT }) }];
  const raw = await store.sub.meta.get(FORMAT_KEY);
  if (raw === undefined) {
    if (await holdsData(store)) throw new HclError('STORE_CORRUPT', `store ${store.location}: the store format mark is missing but the store holds data; refusing to guess its format`);
    if (!readOnly) await write(mark);
    return;
  }
  let format: unknown;
  try {
    format = (decodeCanonical(raw, `store ${store.location}: meta`) as { format?: unknown }).format;
  } catch (e) {
    throw new HclError('STORE_CORRUPT', `store ${store.location}: the store format mark is unreadable: ${(e as Error).message}`, { cause: e });
  }
  if (format === STORE_FORMAT) return;
  if (format === 1) {
    if (readOnly) throw new HclError('NOT_SUPPORTED', `store ${store.location}: store format 1 must be migrated to ${STORE_FORMAT} first, which a read-only command does not do; run hclckpt gc once`);
    // One batch: a crash leaves either the whole old store or the whole new one.
    await write([...(await migrateV1Blobs(store)), ...mark]);
    return;
  }
  throw new HclError('NOT_SUPPORTED', `store ${store.location}: store format ${String(format)} is not supported (this hclckpt reads ${STORE_FORMAT})`);
}
