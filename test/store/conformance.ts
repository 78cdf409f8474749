import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256, sha256Hex } from '../../lib/bytes/index.ts';
import { MANIFEST_FORMAT, readArchive, type SnapshotStore } from '../../lib/store/index.ts';
import { encodeManifest } from '../../lib/store/manifest.ts';
import { keyOf } from '../../lib/store/keys.ts';
import { bytesOf, dump, freshStores, partsOf, rejection, tempDir, withFault } from './helpers.ts';

const T0 = '2025-01-01T00:00:00.000Z';
const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString('hex');

/**
 * Every behaviour of the snapshot store, against a fresh store from `factory` per test. Returns
 * the uvu suite; the backend's test file calls `.run()`.
 */
export function storeConformance(name: string, factory: () => Promise<SnapshotStore>) {
  const test = suite(`store conformance: ${name}`);
  const fresh = freshStores(test, factory);

  test('put then get returns the same parts and a manifest whose bytes hash to the id', async () => {
    const s = await fresh();
    const parts = partsOf(1, 2, 3);
    const r = await s.putSnapshot({ name: 'vm', parts, info: { generation: 2, config: { vps: 4 } }, time: T0, tool: 't' });
    assert.is(r.seq, 1);
    assert.is(r.bytes, parts.reduce((n, p) => n + p.bytes.length, 0));
    const snap = await s.getSnapshot(r.id);
    for (const p of parts) assert.is(hex(snap.parts.get(p.name)), hex(p.bytes), p.name);
    const { id: _id, ...body } = snap.manifest;
    assert.equal(body, {
      format: MANIFEST_FORMAT, name: 'vm', seq: 1, parent: null, time: T0, tool: 't', info: { generation: 2, config: { vps: 4 } },
      parts: parts.map((p) => ({ name: p.name, sha256: sha256Hex(p.bytes), size: p.bytes.length, meta: p.meta ?? {} })),
    });
    assert.is(encodeManifest(body).id, r.id);
  });

  test('same input gives the same id in any store', async () => {
    const input = { name: 'vm', parts: partsOf(4, 5), time: T0, tool: 't' };
    const [a, b] = [await fresh(), await fresh()];
    assert.is((await a.putSnapshot(input)).id, (await b.putSnapshot(input)).id);
  });

  test('blobs are deduplicated: only changed parts are written', async () => {
    const s = await fresh();
    const first = await s.putSnapshot({ name: 'vm', parts: partsOf(1, 2, 3) });
    assert.is(first.newBytes, first.bytes);
    const changed = partsOf(1, 2, 9);
    const second = await s.putSnapshot({ name: 'vm', parts: changed });
    assert.is(second.newBlobs, 1);
    assert.is(second.newBytes, (changed[2] as { bytes: Uint8Array }).bytes.length);
    const again = await s.putSnapshot({ name: 'other', parts: [{ name: 'x', bytes: bytesOf(7) }, { name: 'y', bytes: bytesOf(7) }] });
    assert.is(again.newBlobs, 1);
    assert.is((await s.verify()).blobs, 5);
  });

  test('seq counts per name from 1 and is never reused after rm', async () => {
    const s = await fresh();
    const seqs: string[] = [];
    for (const n of ['a', 'b', 'a', 'a', 'b']) seqs.push(`${n}@${(await s.putSnapshot({ name: n, parts: partsOf(seqs.length) })).seq}`);
    assert.equal(seqs, ['a@1', 'b@1', 'a@2', 'a@3', 'b@2']);
    await s.remove('a@3');
    assert.is((await s.putSnapshot({ name: 'a', parts: [] })).seq, 4);
  });

  test('refs: NAME, NAME@N, hex prefix; unknown and short refs are STORE_NOT_FOUND', async () => {
    const s = await fresh();
    const one = await s.putSnapshot({ name: 'vm', parts: partsOf(1) });
    const two = await s.putSnapshot({ name: 'vm', parts: partsOf(2), parent: one.id });
    const cases: Array<[string, string]> = [['vm', two.id], ['vm@1', one.id], ['vm@2', two.id], [one.id, one.id], [two.id.slice(0, 12), two.id], [two.id.slice(0, 4).toUpperCase(), two.id]];
    for (const [ref, want] of cases) assert.is(await s.resolve(ref), want, ref);
    assert.is((await s.getManifest('vm')).parent, one.id);
    for (const ref of ['vm@3', 'nope', one.id.slice(0, 3), 'bad name@1', `${'0'.repeat(64)}`]) {
      const e = await rejection(() => s.getSnapshot(ref));
      assert.is(e.code, 'STORE_NOT_FOUND', ref);
      assert.ok(e.message.includes(ref), e.message);
    }
  });

  test('an ambiguous prefix is STORE_AMBIGUOUS_REF listing the candidates', async () => {
    const s = await fresh();
    // Find two manifests whose ids share 4 hex digits by hashing candidate bodies first.
    const body = (i: number) => ({ format: MANIFEST_FORMAT, name: `n${i}`, seq: 1, parent: null, time: T0, tool: 't', info: {}, parts: [] });
    const seen = new Map<string, number>();
    let pair: [number, number] | undefined;
    for (let i = 0; pair === undefined; i++) {
      const p = encodeManifest(body(i)).id.slice(0, 4);
      const j = seen.get(p);
      if (j !== undefined) pair = [j, i];
      seen.set(p, i);
    }
    const ids: string[] = [];
    for (const i of pair) ids.push((await s.putSnapshot({ name: `n${i}`, parts: [], time: T0, tool: 't' })).id);
    const e = await rejection(() => s.resolve((ids[0] as string).slice(0, 4)));
    assert.is(e.code, 'STORE_AMBIGUOUS_REF');
    for (const id of ids) assert.ok(e.message.includes(id.slice(0, 12)), e.message);
    // A name that is also a prefix of another snapshot's id is ambiguous too.
    const prefix = (ids[0] as string).slice(0, 6);
    await s.putSnapshot({ name: prefix, parts: partsOf(3) });
    assert.is((await rejection(() => s.resolve(prefix))).code, 'STORE_AMBIGUOUS_REF');
  });

  test('a bad snapshot name is refused before anything is written', async () => {
    const s = await fresh();
    const before = await dump(s);
    for (const n of ['a@b', '', 'has space', '-lead', 'x'.repeat(129)]) {
      const e = await rejection(() => s.putSnapshot({ name: n, parts: partsOf(1) }));
      assert.is(e.code, 'USAGE', n);
      assert.ok(e.message.startsWith(`snapshot name '${n}'`), e.message);
    }
    assert.equal(await dump(s), before);
  });

  test('a damaged or missing blob is STORE_CORRUPT naming snapshot and part; verify reports it', async () => {
    // Stored values are an encoding byte, then the payload (lib/store/blob.ts).
    const edit = (f: (b: Uint8Array) => Uint8Array) => async (s: SnapshotStore, sha: string) => { await s.sub.blobs.put(keyOf(sha), f(Uint8Array.from((await s.sub.blobs.get(keyOf(sha))) ?? []))); };
    const damage: Array<[string, (s: SnapshotStore, sha: string) => Promise<void>, string]> = [
      ['flipped byte', edit((b) => { b[b.length - 1]! ^= 1; return b; }), 'do not match'],
      ['truncated', edit((b) => b.subarray(0, -1)), 'do not match'],
      ['unknown encoding', edit((b) => { b[0] = 0x7f; return b; }), 'unknown encoding byte 0x7f'],
      ['empty', edit(() => new Uint8Array()), 'is empty'],
      ['missing', async (s, sha) => { await s.sub.blobs.del(keyOf(sha)); }, 'missing'],
    ];
    for (const [what, hurt, msg] of damage) {
      const s = await fresh();
      const parts = partsOf(1, 2);
      const { id } = await s.putSnapshot({ name: 'vm', parts });
      await hurt(s, sha256Hex((parts[1] as { bytes: Uint8Array }).bytes));
      const e = await rejection(() => s.getSnapshot('vm'));
      assert.is(e.code, 'STORE_CORRUPT', what);
      assert.ok(e.message.includes(`snapshot ${id} part p1`) && e.message.includes(msg), e.message);
      const report = await s.verify();
      assert.is(report.problems.length, 1, what);
      assert.equal({ ...report.problems[0], problem: undefined }, { snapshot: id, part: 'p1', problem: undefined });
      assert.equal((await s.verify('vm')).problems, report.problems);
    }
  });

  test('a damaged manifest is STORE_CORRUPT naming the snapshot; verify reports it; rm still works', async () => {
    const s = await fresh();
    const good = await s.putSnapshot({ name: 'ok', parts: partsOf(1) });
    const { id } = await s.putSnapshot({ name: 'vm', parts: partsOf(2) });
    const bytes = Uint8Array.from((await s.sub.manifests.get(keyOf(id))) ?? []);
    bytes[bytes.length - 1]! ^= 0x20;
    await s.sub.manifests.put(keyOf(id), bytes);
    for (const read of [() => s.getSnapshot('vm'), () => s.getManifest(id.slice(0, 8)), () => s.list()]) {
      const e = await rejection(read);
      assert.is(e.code, 'STORE_CORRUPT');
      assert.ok(e.message.includes(`snapshot ${id}`), e.message);
    }
    const report = await s.verify();
    assert.equal(report.problems.map((p) => [p.snapshot, p.part]), [[id, null]]);
    assert.is((await rejection(() => s.gc())).code, 'STORE_CORRUPT');
    assert.equal(await s.remove('vm'), { id, names: ['vm@1'] });
    assert.equal(await s.verify(), { snapshots: 1, blobs: 1, problems: [] });
    assert.is((await s.getSnapshot('ok')).manifest.id, good.id);
  });

  test('verify of a clean store finds nothing and counts what it checked', async () => {
    const s = await fresh();
    await s.putSnapshot({ name: 'a', parts: partsOf(1, 2) });
    await s.putSnapshot({ name: 'b', parts: partsOf(2, 3) });
    assert.equal(await s.verify(), { snapshots: 2, blobs: 3, problems: [] });
  });

  test('list is ordered by time, then name, then seq', async () => {
    const s = await fresh();
    const order: Array<[string, string]> = [['b', '2025-01-03T00:00:00.000Z'], ['a', '2025-01-02T00:00:00.000Z'], ['b', '2025-01-02T00:00:00.000Z'], ['a', '2025-01-02T00:00:00.000Z']];
    for (const [name, time] of order) await s.putSnapshot({ name, parts: [], time });
    assert.equal((await s.list()).map((m) => `${m.name}@${m.seq}`), ['a@1', 'a@2', 'b@2', 'b@1']);
  });

  test('rm drops manifest and name; gc frees only blobs no snapshot uses', async () => {
    const s = await fresh();
    const keep = partsOf(1, 2);
    const drop = partsOf(1, 3, 4);
    await s.putSnapshot({ name: 'keep', parts: keep });
    await s.putSnapshot({ name: 'drop', parts: drop });
    assert.equal(await s.gc(), { removedBlobs: 0, freedBytes: 0, keptBlobs: 4 });
    await s.remove('drop@1');
    assert.is((await rejection(() => s.getSnapshot('drop'))).code, 'STORE_NOT_FOUND');
    const dead = drop.slice(1).map((p) => p.bytes);
    const stored = await s.sub.blobs.getMany(dead.map((b) => keyOf(sha256Hex(b))));
    assert.equal(await s.gc(), { removedBlobs: 2, freedBytes: stored.reduce((n, v) => n + (v?.length ?? Number.NaN), 0), keptBlobs: 2 });
    for (const b of dead) assert.is(await s.sub.blobs.get(keyOf(sha256Hex(b))), undefined);
    assert.is(hex((await s.getSnapshot('keep')).parts.get('p0')), hex((keep[0] as { bytes: Uint8Array }).bytes));
    assert.equal(await s.gc(), { removedBlobs: 0, freedBytes: 0, keptBlobs: 2 });
  });

  test('export then import into another store round-trips; a second import is a no-op', async () => {
    const dir = await tempDir();
    const file = join(dir, 'vm.hclsnap');
    const [a, b] = [await fresh(), await fresh()];
    const parts = [...partsOf(1, 2), { name: 'dup', bytes: bytesOf(1, 41) }];
    const { id } = await a.putSnapshot({ name: 'vm', parts, info: { big: 1n << 60n } });
    assert.is((await a.exportSnapshot(id.slice(0, 8), file)).id, id);
    const read = await readArchive(file);
    assert.equal(read.manifest, await a.getManifest(id));
    const r = await b.importSnapshot(file);
    assert.equal([r.id, r.imported, r.newBlobs], [id, true, 2]);
    const got = await b.getSnapshot('vm@1');
    assert.equal(got.manifest, await a.getManifest(id));
    for (const p of parts) assert.is(hex(got.parts.get(p.name)), hex(p.bytes));
    const before = await dump(b);
    assert.equal((await b.importSnapshot(file)).imported, false);
    assert.equal(await dump(b), before);
  });

  test('a damaged, truncated or foreign .hclsnap is refused with nothing written', async () => {
    const dir = await tempDir();
    const src = await fresh();
    await src.putSnapshot({ name: 'vm', parts: partsOf(1, 2) });
    const good = join(dir, 'good.hclsnap');
    await src.exportSnapshot('vm', good);
    const bytes = new Uint8Array(await readFile(good));
    // A blob byte flipped AND the trailing checksum recomputed: only the blob hash can catch it.
    const resealed = bytes.slice();
    resealed[bytes.length - 40]! ^= 1;
    resealed.set(sha256(resealed.subarray(0, bytes.length - 32)), bytes.length - 32);
    const cases: Array<[string, Uint8Array, string, string]> = [
      ['flipped manifest byte', Uint8Array.from(bytes, (b, i) => (i === 60 ? b ^ 1 : b)), 'ARCHIVE_CORRUPT', 'checksum mismatch'],
      ['flipped checksum byte', Uint8Array.from(bytes, (b, i) => (i === bytes.length - 1 ? b ^ 1 : b)), 'ARCHIVE_CORRUPT', 'checksum mismatch'],
      ['truncated by 1', bytes.subarray(0, bytes.length - 1), 'ARCHIVE_CORRUPT', 'checksum mismatch'],
      ['truncated to half', bytes.subarray(0, bytes.length >> 1), 'ARCHIVE_CORRUPT', 'checksum mismatch'],
      ['truncated to 20 bytes', bytes.subarray(0, 20), 'ARCHIVE_CORRUPT', 'truncated'],
      ['bad magic', Uint8Array.from(bytes, (b, i) => (i === 0 ? 0 : b)), 'ARCHIVE_INVALID', 'bad magic'],
      ['newer version', Uint8Array.from(bytes, (b, i) => (i === 8 ? 9 : b)), 'ARCHIVE_INVALID', 'version 9'],
      ['empty', new Uint8Array(), 'ARCHIVE_INVALID', 'bad magic'],
      ['blob hash', resealed, 'ARCHIVE_CORRUPT', 'does not match its sha256'],
    ];
    const dst = await fresh();
    const before = await dump(dst);
    for (const [what, b, code, msg] of cases) {
      const file = join(dir, `${what.replace(/ /g, '-')}.hclsnap`);
      await writeFile(file, b);
      const e = await rejection(() => dst.importSnapshot(file));
      assert.is(e.code, code, what);
      assert.ok(e.message.startsWith(file) && e.message.includes(msg), `${what}: ${e.message}`);
    }
    assert.is((await rejection(() => dst.importSnapshot(join(dir, 'absent.hclsnap')))).code, 'FILE_NOT_FOUND');
    assert.equal(await dump(dst), before);
  });

  test('import of a different snapshot at a taken NAME@N is STORE_CONFLICT', async () => {
    const file = join(await tempDir(), 'vm.hclsnap');
    const [a, b] = [await fresh(), await fresh()];
    await a.putSnapshot({ name: 'vm', parts: partsOf(1) });
    await a.exportSnapshot('vm@1', file);
    const mine = await b.putSnapshot({ name: 'vm', parts: partsOf(2) });
    const before = await dump(b);
    const e = await rejection(() => b.importSnapshot(file));
    assert.is(e.code, 'STORE_CONFLICT');
    assert.ok(e.message.includes(`vm@1 is already snapshot ${mine.id.slice(0, 12)}`), e.message);
    assert.equal(await dump(b), before);
  });

  test('store-write-fail: every write is refused and the store is unchanged', async () => {
    const file = join(await tempDir(), 'vm.hclsnap');
    const other = await fresh();
    await other.putSnapshot({ name: 'imported', parts: partsOf(8) });
    await other.exportSnapshot('imported', file);
    const s = await fresh();
    await s.putSnapshot({ name: 'vm', parts: partsOf(1, 2) });
    await s.putSnapshot({ name: 'gone', parts: partsOf(3) });
    await s.remove('gone');
    const before = await dump(s);
    const writes: Array<[string, () => Promise<unknown>]> = [
      ['put', () => s.putSnapshot({ name: 'vm', parts: partsOf(1, 5) })],
      ['rm', () => s.remove('vm')],
      ['gc', () => s.gc()],
      ['import', () => s.importSnapshot(file)],
    ];
    for (const [what, write] of writes) {
      const e = await withFault('other,store-write-fail', () => rejection(write));
      assert.is(e.code, 'STORE_WRITE_FAILED', what);
      assert.ok(e.message.includes('store-write-fail'), e.message);
    }
    assert.equal(await dump(s), before);
    assert.is((await s.putSnapshot({ name: 'vm', parts: partsOf(1, 5) })).seq, 2);
  });

  return test;
}
