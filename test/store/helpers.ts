import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PartInput, SnapshotStore } from '../../lib/store/index.ts';

const made: string[] = [];
process.on('exit', () => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A fresh temporary directory for one test, removed when the process exits. */
export async function tempDir(prefix = 'hclckpt-store-'): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  made.push(d);
  return d;
}

/** Deterministic part bytes: `n` bytes derived from `seed`. */
export function bytesOf(seed: number, n = 64): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (seed * 31 + i * 7) & 0xff);
}

/** Parts named `p0…` with bytes from the given seeds. */
export function partsOf(...seeds: number[]): PartInput[] {
  return seeds.map((s, i) => ({ name: `p${i}`, bytes: bytesOf(s, 40 + s), meta: { seed: s } }));
}

/** Every key/value of every sublevel as hex, to compare a store before and after a refused write. */
export async function dump(store: SnapshotStore): Promise<string[]> {
  const out: string[] = [];
  for (const [name, sub] of Object.entries(store.sub)) {
    for await (const [k, v] of sub.iterator()) out.push(`${name}:${Buffer.from(k).toString('hex')}=${Buffer.from(v).toString('hex')}`);
  }
  return out;
}

/** Runs `fn` with HCLCKPT_FAULT set, restoring the previous value after. */
export async function withFault<T>(fault: string, fn: () => Promise<T>): Promise<T> {
  const prev = process.env['HCLCKPT_FAULT'];
  process.env['HCLCKPT_FAULT'] = fault;
  try {
    return await fn();
  } finally {
    if (prev === undefined) delete process.env['HCLCKPT_FAULT'];
    else process.env['HCLCKPT_FAULT'] = prev;
  }
}

/** The HclError code and message `fn` rejects with (fails the test if it resolves). */
export async function rejection(fn: () => Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await fn();
  } catch (e) {
    return { code: String((e as { code?: unknown }).code), message: (e as Error).message };
  }
  throw new Error('expected a rejection, got success');
}

/** `n` pseudo-random bytes from `seed` (xorshift32): content with no repeats, so chunk cuts vary. */
export function noiseOf(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * A `fresh()` that opens a store from `factory` for one test of `test`'s suite and closes every
 * store the test opened after it: the setup both conformance suites share.
 */
export function freshStores(test: { after: { each(fn: () => Promise<void>): void } }, factory: () => Promise<SnapshotStore>): () => Promise<SnapshotStore> {
  const open: SnapshotStore[] = [];
  test.after.each(async () => {
    for (const s of open.splice(0)) await s.close();
  });
  return async () => {
    const s = await factory();
    open.push(s);
    return s;
  };
}
