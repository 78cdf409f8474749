import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryLevel } from 'memory-level';
import { sha256Hex } from '../../lib/bytes/index.ts';
import { encodeCanonical } from '../../lib/state/codec.ts';
import { BLOB_RAW, STORE_FORMAT, SnapshotStore } from '../../lib/store/index.ts';
import { decodeManifest, encodeManifest } from '../../lib/store/manifest.ts';
import { keyOf, nameKey } from '../../lib/store/keys.ts';
import { noiseOf, rejection } from './helpers.ts';

// Format 1 as it was written before chunks and compression: bare blob values, format-1 manifests.
async function formatOneStore(): Promise<{ db: MemoryLevel<Uint8Array, Uint8Array>; id: string; parts: Map<string, Uint8Array> }> {
  const db = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' });
  const sub = (n: string) => db.sublevel<Uint8Array, Uint8Array>(n, { keyEncoding: 'view', valueEncoding: 'view' });
  const parts = new Map([['big', noiseOf(1, 200_000)], ['small', noiseOf(2, 30)]]);
  const body = {
    format: 1, name: 'old', seq: 1, parent: null, time: '2025-01-01T00:00:00.000Z', tool: 'old', info: {},
    parts: [...parts].map(([name, b]) => ({ name, sha256: sha256Hex(b), size: b.length, meta: {} })),
  };
  const { id, bytes } = encodeManifest(body);
  await sub('meta').put(keyOf('format'), encodeCanonical({ format: 1 }));
  for (const b of parts.values()) await sub('blobs').put(keyOf(sha256Hex(b)), b);
  await sub('manifests').put(keyOf(id), bytes);
  await sub('names').put(nameKey('old', 1), keyOf(id));
  return { db, id, parts };
}

test('a format-1 store is migrated when opened: its snapshots read, verify and gc as before', async () => {
  const { db, id, parts } = await formatOneStore();
  const s = await SnapshotStore.open({ db, dir: 'v1' });
  const meta = db.sublevel<Uint8Array, Uint8Array>('meta', { keyEncoding: 'view', valueEncoding: 'view' });
  assert.is(Buffer.from((await meta.get(keyOf('format'))) ?? []).toString('hex'), Buffer.from(encodeCanonical({ format: STORE_FORMAT })).toString('hex'));
  for (const b of parts.values()) assert.is((await s.sub.blobs.get(keyOf(sha256Hex(b))))?.[0], BLOB_RAW);
  const snap = await s.getSnapshot('old');
  assert.is(snap.manifest.id, id);
  assert.is(snap.manifest.format, 1);
  for (const [name, b] of parts) assert.is(Buffer.from(snap.parts.get(name) ?? []).toString('hex'), Buffer.from(b).toString('hex'), name);
  assert.equal(await s.verify(), { snapshots: 1, blobs: 2, problems: [] });
  assert.equal((await s.gc()).removedBlobs, 0);
  // New snapshots beside it chunk and dedup against nothing old (old blobs are whole parts).
  const r = await s.putSnapshot({ name: 'old', parts: [...parts].map(([name, bytes]) => ({ name, bytes })) });
  assert.equal([r.seq, (await s.getManifest(r.id)).format], [2, 2]);
  await s.close();
});

test('manifest chunk lists are checked: format 1 has none, sizes must add up, entries well-formed', () => {
  const b = noiseOf(3, 100);
  const ref = { name: 'p', sha256: sha256Hex(b), size: 100, meta: {} };
  const chunk = (size: number) => ({ sha256: sha256Hex(b.subarray(0, size)), size });
  const cases: Array<[string, number, unknown, string]> = [
    ['chunks in format 1', 1, [chunk(100)], 'parts[0].chunks not in format 1'],
    ['sizes short', 2, [chunk(40), chunk(50)], 'parts[0].chunks: sizes add up to 90, part size is 100'],
    ['empty list', 2, [], 'parts[0].chunks: not a non-empty list'],
    ['zero-size chunk', 2, [chunk(100), { ...chunk(1), size: 0 }], 'parts[0].chunks[1].size'],
    ['bad sha', 2, [{ sha256: 'xy', size: 100 }], 'parts[0].chunks[0].sha256'],
    ['format 3', 3, undefined, 'format 3 is not one of 1, 2'],
  ];
  for (const [what, format, chunks, msg] of cases) {
    const body = { format, name: 'vm', seq: 1, parent: null, time: 't', tool: 't', info: {}, parts: [chunks === undefined ? ref : { ...ref, chunks }] };
    const { id, bytes } = encodeManifest(body as Parameters<typeof encodeManifest>[0]);
    try {
      decodeManifest(bytes, id, 'here', 'STORE_CORRUPT');
      assert.unreachable(what);
    } catch (e) {
      assert.is((e as { code?: string }).code, 'STORE_CORRUPT', what);
      assert.is((e as Error).message, `here: malformed manifest: ${msg}`, what);
    }
  }
});

test('a store format newer than this code is refused', async () => {
  const db = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' });
  await db.sublevel<Uint8Array, Uint8Array>('meta', { keyEncoding: 'view', valueEncoding: 'view' }).put(keyOf('format'), encodeCanonical({ format: STORE_FORMAT + 1 }));
  const e = await rejection(() => SnapshotStore.open({ db, dir: 'future' }));
  assert.equal([e.code, e.message], ['NOT_SUPPORTED', `store future: store format ${STORE_FORMAT + 1} is not supported (this hclckpt reads ${STORE_FORMAT})`]);
});

test.run();
