import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { sha256Hex } from '../../lib/bytes/index.ts';
import { BLOB_DEFLATE, BLOB_RAW, CHUNKING, encodeArchive, parseArchive, piecesOf, type Manifest, type PartRef, type SnapshotStore } from '../../lib/store/index.ts';
import { encodeManifest } from '../../lib/store/manifest.ts';
import { keyOf } from '../../lib/store/keys.ts';
import { freshStores, noiseOf, rejection, tempDir } from './helpers.ts';

const MIB = 1024 * 1024;
const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString('hex');
const big = (seed: number, n = MIB) => ({ name: 'big', bytes: noiseOf(seed, n) });
const chunksOf = (m: Manifest, part = 'big'): NonNullable<PartRef['chunks']> => m.parts.find((p) => p.name === part)?.chunks ?? [];

/**
 * Chunked parts and compressed blobs (lib/store/chunks.ts, blob.ts) on any backend: the
 * store-format-2 half of the conformance suite. Returns the uvu suite; the backend's test runs it.
 */
export function chunkConformance(name: string, factory: () => Promise<SnapshotStore>) {
  const test = suite(`store conformance (chunks, compression): ${name}`);
  const fresh = freshStores(test, factory);

  test('a part above the threshold is stored as bounded chunks and reads back exactly', async () => {
    const s = await fresh();
    const part = big(1);
    const small = { name: 'small', bytes: noiseOf(2, CHUNKING.threshold) };
    const r = await s.putSnapshot({ name: 'vm', parts: [part, small] });
    const m = await s.getManifest(r.id);
    const chunks = chunksOf(m);
    assert.ok(chunks.length > 4, String(chunks.length));
    chunks.slice(0, -1).forEach((c, i) => assert.ok(c.size >= CHUNKING.min && c.size <= CHUNKING.max, `chunk ${i}: ${c.size}`));
    assert.is(chunks.reduce((n, c) => n + c.size, 0), MIB);
    assert.equal(m.parts.map((p) => [p.sha256, p.size]), [[sha256Hex(part.bytes), MIB], [sha256Hex(small.bytes), CHUNKING.threshold]]);
    assert.is(chunksOf(m, 'small').length, 0, 'a part at the threshold stays whole');
    assert.equal([r.bytes, r.newBytes, r.newBlobs], [MIB + CHUNKING.threshold, MIB + CHUNKING.threshold, new Set(chunks.map((c) => c.sha256)).size + 1]);
    const got = await s.getSnapshot('vm');
    assert.is(hex(got.parts.get('big')), hex(part.bytes));
    assert.is(hex(got.parts.get('small')), hex(small.bytes));
    assert.equal(await s.verify(), { snapshots: 1, blobs: r.newBlobs, problems: [] });
  });

  test('incremental: a one-byte change or insertion in a 1 MiB part adds O(one chunk) new bytes', async () => {
    // Like records (a per-VP array in msgpack) give the rolling hash no mask hit: cuts must
    // still follow the content, or an insertion would shift every later chunk.
    const records = new TextEncoder().encode(Array.from({ length: 40_000 }, (_, i) => `{vector:${i % 7},masked:${i % 3 === 0},pending:0}`).join('')).subarray(0, MIB);
    const edits: Array<[string, (b: Uint8Array, at: number) => Uint8Array]> = [
      ['flip', (b, at) => { const c = b.slice(); c[at]! ^= 0x55; return c; }],
      ['insert', (b, at) => Uint8Array.from([...b.subarray(0, at), 0x20, ...b.subarray(at)])],
    ];
    for (const [kind, content] of [['noise', noiseOf(3, MIB)], ['records', records]] as const) {
      const s = await fresh();
      const first = await s.putSnapshot({ name: 'vm', parts: [{ name: 'big', bytes: content }] });
      for (const [edit, apply] of edits) {
        for (const at of [0, MIB >> 1, MIB - 1]) {
          const what = `${kind} ${edit} at ${at}`;
          const bytes = apply(content, at);
          const r = await s.putSnapshot({ name: 'vm', parts: [{ name: 'big', bytes }] });
          assert.ok(r.newBlobs >= 1 && r.newBlobs <= 2, `${what}: ${r.newBlobs} blobs`);
          assert.ok(r.newBytes <= 2 * CHUNKING.max && r.newBytes < first.bytes / 8, `${what}: ${r.newBytes} new bytes`);
          assert.is(hex((await s.getSnapshot(r.id)).parts.get('big')), hex(bytes), what);
        }
      }
    }
  });

  test('a chunk shared by two snapshots survives gc after one is removed', async () => {
    const s = await fresh();
    const a = await s.putSnapshot({ name: 'a', parts: [big(4)] });
    const edited = big(4);
    edited.bytes[1000]! ^= 1;
    const b = await s.putSnapshot({ name: 'b', parts: [edited] });
    const [ca, cb] = [chunksOf(await s.getManifest(a.id)), chunksOf(await s.getManifest(b.id))];
    const onlyA = new Set(ca.map((c) => c.sha256).filter((sha) => !cb.some((c) => c.sha256 === sha)));
    assert.ok(onlyA.size >= 1 && onlyA.size < ca.length, `${onlyA.size} of ${ca.length}`);
    await s.remove('a');
    const report = await s.gc();
    assert.equal([report.removedBlobs, report.keptBlobs], [onlyA.size, new Set(cb.map((c) => c.sha256)).size]);
    for (const sha of onlyA) assert.is(await s.sub.blobs.get(keyOf(sha)), undefined);
    assert.is(hex((await s.getSnapshot('b')).parts.get('big')), hex(edited.bytes));
  });

  test('a damaged chunk is STORE_CORRUPT on read and in verify, naming every part that uses it', async () => {
    const s = await fresh();
    const one = await s.putSnapshot({ name: 'one', parts: [big(5)] });
    const two = await s.putSnapshot({ name: 'two', parts: [{ name: 'other', bytes: big(5).bytes }, { name: 'x', bytes: noiseOf(9, 100) }] });
    const victim = chunksOf(await s.getManifest(one.id))[2] as { sha256: string };
    const stored = Uint8Array.from((await s.sub.blobs.get(keyOf(victim.sha256))) ?? []);
    stored[stored.length >> 1]! ^= 0x10;
    await s.sub.blobs.put(keyOf(victim.sha256), stored);
    for (const [ref, id, part] of [['one', one.id, 'big'], ['two', two.id, 'other']] as const) {
      const e = await rejection(() => s.getSnapshot(ref));
      assert.is(e.code, 'STORE_CORRUPT');
      assert.ok(e.message.includes(`snapshot ${id} part ${part}: chunk 2: `), e.message);
    }
    const report = await s.verify();
    assert.equal(report.problems.map((p) => [p.snapshot, p.part]).sort(), [[one.id, 'big'], [two.id, 'other']].sort());
    assert.ok(report.problems.every((p) => p.problem.startsWith('chunk 2: ')), JSON.stringify(report.problems));
    await s.sub.blobs.del(keyOf(victim.sha256));
    assert.ok((await rejection(() => s.getSnapshot('one'))).message.includes(`chunk 2: blob ${victim.sha256.slice(0, 12)} is missing`));
  });

  test('chunks that hash right but reassemble to other bytes are STORE_CORRUPT (the part hash is checked too)', async () => {
    const s = await fresh();
    const { id } = await s.putSnapshot({ name: 'vm', parts: [big(6)] });
    const { id: _id, ...body } = await s.getManifest(id);
    const forged = { ...body, name: 'forged', parts: body.parts.map((p) => ({ ...p, sha256: sha256Hex(noiseOf(7, 10)) })) };
    const m = encodeManifest(forged);
    await s.sub.manifests.put(keyOf(m.id), m.bytes);
    const e = await rejection(() => s.getSnapshot(m.id));
    assert.is(e.code, 'STORE_CORRUPT');
    assert.ok(e.message.includes(`snapshot ${m.id} part big: reassembled chunks do not match`), e.message);
    assert.equal((await s.verify(m.id)).problems.map((p) => [p.part, p.problem.slice(0, 29)]), [['big', 'reassembled chunks do not mat']]);
  });

  test('compressible blobs are stored deflated, incompressible ones raw; both read back exactly', async () => {
    const s = await fresh();
    const text = new TextEncoder().encode(Array.from({ length: 4000 }, (_, i) => `{"vp":${i},"sint":[0,0,0],"simp":true}`).join(','));
    const parts = [{ name: 'text', bytes: text }, { name: 'noise', bytes: noiseOf(8, 5000) }, { name: 'tiny', bytes: new Uint8Array(10) }];
    const r = await s.putSnapshot({ name: 'vm', parts });
    assert.ok(r.storedBytes < r.newBytes / 2, `${r.storedBytes} stored of ${r.newBytes}`);
    const m = await s.getManifest(r.id);
    const stored = new Map<string, Uint8Array>();
    for (const p of m.parts) for (const c of piecesOf(p)) stored.set(c.sha256, (await s.sub.blobs.get(keyOf(c.sha256))) ?? new Uint8Array());
    assert.is([...stored.values()].reduce((n, v) => n + v.length, 0), r.storedBytes);
    for (const c of piecesOf(m.parts[0] as PartRef)) assert.is(stored.get(c.sha256)?.[0], BLOB_DEFLATE);
    for (const p of m.parts.slice(1)) assert.equal([stored.get(p.sha256)?.[0], stored.get(p.sha256)?.length], [BLOB_RAW, p.size + 1], p.name);
    assert.is(await s.storedSize(r.id), r.storedBytes + (await s.loadManifest(r.id)).bytes.length);
    const got = await s.getSnapshot(r.id);
    for (const p of parts) assert.is(hex(got.parts.get(p.name)), hex(p.bytes), p.name);
  });

  test('a deflate stream that inflates past its declared size is STORE_CORRUPT, not an allocation', async () => {
    const s = await fresh();
    const bytes = new Uint8Array(1000);
    const { id } = await s.putSnapshot({ name: 'vm', parts: [{ name: 'p', bytes }] });
    const bomb = deflateRawSync(new Uint8Array(64 * MIB));
    await s.sub.blobs.put(keyOf(sha256Hex(bytes)), Uint8Array.from([BLOB_DEFLATE, ...bomb]));
    const e = await rejection(() => s.getSnapshot(id));
    assert.is(e.code, 'STORE_CORRUPT');
    assert.ok(e.message.includes('part p: blob') && e.message.includes('does not inflate to its 1000 bytes'), e.message);
    assert.is((await s.verify()).problems.length, 1);
  });

  test('export keeps chunked parts whole; import re-cuts them along the manifest and checks each chunk', async () => {
    const [a, b] = [await fresh(), await fresh()];
    const part = big(10);
    const { id } = await a.putSnapshot({ name: 'vm', parts: [part, { name: 'x', bytes: noiseOf(11, 50) }] });
    const file = join(await tempDir(), 'vm.hclsnap');
    await a.exportSnapshot(id, file);
    const r = await b.importSnapshot(file);
    const m = await a.getManifest(id);
    assert.equal([r.id, r.imported, r.newBlobs], [id, true, new Set(chunksOf(m).map((c) => c.sha256)).size + 1]);
    assert.equal(await b.getManifest(id), m);
    assert.is(hex((await b.getSnapshot(id)).parts.get('big')), hex(part.bytes));
    // A manifest whose chunk list does not cut the archived bytes right is refused.
    const { id: _id, ...body } = m;
    const chunks = chunksOf(m);
    const wrong = { ...body, parts: body.parts.map((p) => (p.name === 'big' ? { ...p, chunks: [{ ...chunks[0]!, sha256: chunks[1]!.sha256 }, ...chunks.slice(1)] } : p)) };
    const forged = encodeManifest(wrong);
    const bytes = encodeArchive({ ...wrong, id: forged.id }, forged.bytes, new Map([['big', part.bytes], ['x', noiseOf(11, 50)]]));
    const e = await rejection(async () => parseArchive(bytes, 'forged.hclsnap'));
    assert.is(e.code, 'ARCHIVE_CORRUPT');
    assert.ok(e.message.startsWith('forged.hclsnap: ') && e.message.includes('part big: chunk 0 does not match'), e.message);
  });

  return test;
}
