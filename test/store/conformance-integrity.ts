import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sha256Hex } from '../../lib/bytes/index.ts';
import type { OpenOptions, SnapshotStore } from '../../lib/store/index.ts';
import { keyOf } from '../../lib/store/keys.ts';
import { bytesOf, dump, freshStores, partsOf, rejection } from './helpers.ts';

/**
 * The store's integrity behaviours that hold on every backend (issue 12, 11): concurrent
 * writers, gc racing a save, dedup re-checking damaged blobs, strict refs and seq bounds, the
 * size bound, and close waiting for what is running.
 */
export function integrityConformance(name: string, factory: (opts?: Pick<OpenOptions, 'maxSnapshotBytes'>) => Promise<SnapshotStore>) {
  const test = suite(`store conformance (integrity): ${name}`);
  const fresh = freshStores(test, () => factory());

  test('two concurrent puts of one name get consecutive seqs and both read back whole', async () => {
    const s = await fresh();
    const [a, b] = await Promise.all([s.putSnapshot({ name: 'vm', parts: partsOf(1, 2) }), s.putSnapshot({ name: 'vm', parts: partsOf(2, 3) })]);
    assert.equal([a.seq, b.seq].sort(), [1, 2]);
    for (const r of [a, b]) assert.is((await s.getSnapshot(`vm@${r.seq}`)).manifest.id, r.id);
    assert.equal((await s.verify()).problems, []);
  });

  test('a put racing gc keeps every blob it refers to, even one gc found dead', async () => {
    const s = await fresh();
    await s.putSnapshot({ name: 'old', parts: partsOf(7) });
    await s.remove('old');
    // The new snapshot needs the now-dead blob of `old`: whichever runs first, it must survive.
    const parts = partsOf(7, 8);
    const [put] = await Promise.all([s.putSnapshot({ name: 'new', parts }), s.gc()]);
    const back = await s.getSnapshot(put.id);
    for (const p of parts) assert.is(Buffer.from(back.parts.get(p.name) ?? []).toString('hex'), Buffer.from(p.bytes).toString('hex'), p.name);
    assert.equal((await s.verify()).problems, []);
    assert.is((await s.gc()).removedBlobs, 0);
  });

  test('a dedup hit on a damaged blob rewrites it whole and reports it; the older snapshot reads again', async () => {
    const s = await fresh();
    const parts = partsOf(1, 2);
    const first = await s.putSnapshot({ name: 'vm', parts });
    const sha = sha256Hex((parts[1] as { bytes: Uint8Array }).bytes);
    await s.sub.blobs.put(keyOf(sha), new Uint8Array([0x00, 0xde, 0xad]));
    assert.is((await rejection(() => s.getSnapshot(first.id))).code, 'STORE_CORRUPT');
    const second = await s.putSnapshot({ name: 'vm', parts: [parts[1]!] });
    assert.equal([second.newBlobs, second.repairedBlobs], [0, [sha]]);
    assert.is((await s.getSnapshot(first.id)).parts.size, 2);
    assert.equal((await s.putSnapshot({ name: 'vm', parts })).repairedBlobs, [], 'a whole blob is not rewritten');
  });

  test('NAME@N parses strictly: no leading zero, sign, fraction or seq past 2^32 - 1', async () => {
    const s = await fresh();
    await s.putSnapshot({ name: 'vm', parts: partsOf(1) });
    for (const ref of ['vm@01', 'vm@+1', 'vm@1.0', 'vm@1e0', 'vm@4294967296', 'vm@4294967297', 'vm@99999999999', 'vm@']) {
      const e = await rejection(() => s.resolve(ref));
      assert.equal([e.code, e.message], ['USAGE', `ref '${ref}': the seq after @ must be a decimal integer 1..4294967295`], ref);
    }
    assert.is((await rejection(() => s.resolve('vm@4294967295'))).code, 'STORE_NOT_FOUND');
  });

  test('a snapshot over the size bound is refused before anything is written', async () => {
    const s = await factory({ maxSnapshotBytes: 100 });
    try {
      const before = await dump(s);
      const e = await rejection(() => s.putSnapshot({ name: 'big', parts: [{ name: 'p', bytes: bytesOf(1, 60) }, { name: 'q', bytes: bytesOf(2, 41) }] }));
      assert.equal([e.code, e.message], ['SNAPSHOT_TOO_LARGE', `store ${s.location}: snapshot big@1 declares 101 bytes of parts, more than the limit of 100 (raise it with --max-snapshot-bytes)`]);
      assert.equal(await dump(s), before);
      assert.is((await s.putSnapshot({ name: 'fits', parts: [{ name: 'p', bytes: bytesOf(1, 100) }] })).seq, 1);
    } finally {
      await s.close();
    }
  });

  test('close waits for a put already running; a call after close is STORE_CLOSED and writes nothing', async () => {
    const s = await factory();
    const pending = s.putSnapshot({ name: 'vm', parts: partsOf(4) });
    const closing = s.close();
    const late = await rejection(() => s.putSnapshot({ name: 'late', parts: partsOf(5) }));
    await closing;
    assert.is((await pending).seq, 1);
    assert.equal([late.code, late.message], ['STORE_CLOSED', `store ${s.location}: already closed; nothing was read or written`]);
    for (const op of [() => s.list(), () => s.verify(), () => s.resolve('vm')]) assert.is((await rejection(op)).code, 'STORE_CLOSED');
  });

  return test;
}
