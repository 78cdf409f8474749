import { createRequire } from 'node:module';
import type { AbstractSublevel } from 'abstract-level';
import { sha256Hex } from '../bytes/index.ts';
import { HclError } from '../errors.ts';
import { decodeCanonical, encodeCanonical } from '../state/index.ts';
import { encodeArchive, readArchive, writeArchive } from './archive.ts';
import { openLevelDb, storeDir, type StoreDb } from './backend.ts';
import { keyOf, nameKey, nameRange, parseNameKey, prefixRange, readU32, seqCounterKey, textOf, u32Bytes } from './keys.ts';
import { ID_PATTERN, MANIFEST_FORMAT, NAME_PATTERN, decodeManifest, encodeManifest, manifestBytes } from './manifest.ts';
import { encodeBlob } from './blob.ts';
import { piecesOf, splitPart } from './chunks.ts';
import { gcStore, migrateV1Blobs, verifyStore } from './maintenance.ts';
import { readParts } from './read.ts';
import type { GcReport, ImportResult, Manifest, ManifestBody, PartRef, PutResult, PutSnapshotInput, Snapshot, VerifyReport } from './types.ts';

const { version: TOOL_VERSION } = createRequire(import.meta.url)('../../package.json') as { version: string };

/**
 * Store format kept under meta/format; bumped only with a migration. 2: blob values carry an
 * encoding byte (raw or deflate, blob.ts); a format-1 store is migrated when opened.
 */
export const STORE_FORMAT = 2;

type Sub = AbstractSublevel<StoreDb, unknown, Uint8Array, Uint8Array>;

/** One write of a batch; `value` absent means delete. */
export interface WriteOp { sub: Sub; key: Uint8Array; value?: Uint8Array }

/** The store's sublevels, shared with maintenance.ts. */
export interface Sublevels { manifests: Sub; blobs: Sub; names: Sub; runs: Sub; meta: Sub }

/** Options of `SnapshotStore.open`. */
export interface OpenOptions {
  /** An abstract-level database to use (tests pass a MemoryLevel); the store closes it. */
  db?: StoreDb;
  /** LevelDB directory when `db` is absent; default `storeDir()`. With `db`, a label only. */
  dir?: string;
}

/**
 * The snapshot store (DESIGN.md §4): content-addressed blobs plus manifests, written in one
 * atomic batch per snapshot, every read re-hashed. Works on any abstract-level backend.
 */
export class SnapshotStore {
  /** Directory (LevelDB) or a label of the backend; used in every message. */
  readonly location: string;
  /** @internal sublevels, for maintenance.ts. */
  readonly sub: Sublevels;
  readonly #db: StoreDb;
  #tail: Promise<unknown> = Promise.resolve();

  private constructor(db: StoreDb, location: string) {
    this.#db = db;
    this.location = location;
    const mk = (name: string): Sub => db.sublevel<Uint8Array, Uint8Array>(name, { keyEncoding: 'view', valueEncoding: 'view' }) as Sub;
    this.sub = { manifests: mk('manifests'), blobs: mk('blobs'), names: mk('names'), runs: mk('runs'), meta: mk('meta') };
  }

  /** Opens a store on `db`, or on LevelDB at `dir` (STORE_LOCKED if another process holds it). */
  static async open(opts: OpenOptions = {}): Promise<SnapshotStore> {
    const location = opts.db !== undefined ? (opts.dir ?? `(${opts.db.constructor.name})`) : storeDir(opts.dir);
    const db = opts.db ?? (await openLevelDb(location));
    if (db.status !== 'open') await db.open();
    const store = new SnapshotStore(db, location);
    try {
      await store.#checkFormat();
    } catch (e) {
      await db.close();
      throw e;
    }
    return store;
  }

  /** Closes the backend; the store is unusable afterwards. */
  async close(): Promise<void> {
    await this.#tail;
    await this.#db.close();
  }

  async #checkFormat(): Promise<void> {
    const raw = await this.sub.meta.get(keyOf('format'));
    if (raw === undefined) {
      await this.#write([{ sub: this.sub.meta, key: keyOf('format'), value: encodeCanonical({ format: STORE_FORMAT }) }]);
      return;
    }
    const v = decodeCanonical(raw, `store ${this.location}: meta`) as { format?: unknown };
    if (v.format === 1) {
      // One batch: a crash leaves either the whole old store or the whole new one.
      const ops = await migrateV1Blobs(this);
      await this.#write([...ops, { sub: this.sub.meta, key: keyOf('format'), value: encodeCanonical({ format: STORE_FORMAT }) }]);
      return;
    }
    if (v.format !== STORE_FORMAT) {
      throw new HclError('NOT_SUPPORTED', `store ${this.location}: store format ${String(v.format)} is not supported (this hclckpt reads ${STORE_FORMAT})`);
    }
  }

  /** Runs `fn` after every earlier exclusive operation: seq numbers and gc need a stable view. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn, fn);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /**
   * Every write goes through here, as one atomic batch. Fault seam for reliability tests:
   * HCLCKPT_FAULT=store-write-fail (comma-separated list) rejects the batch before the backend
   * sees any of it, which is what a failed atomic write leaves behind.
   */
  async #write(ops: WriteOp[]): Promise<void> {
    if ((process.env['HCLCKPT_FAULT'] ?? '').split(',').includes('store-write-fail')) {
      throw new HclError('STORE_WRITE_FAILED', `store ${this.location}: batch of ${ops.length} writes refused (fault store-write-fail injected)`);
    }
    const batch = this.#db.batch();
    for (const op of ops) {
      if (op.value === undefined) batch.del(op.key, { sublevel: op.sub });
      else batch.put(op.key, op.value, { sublevel: op.sub });
    }
    try {
      await batch.write();
    } catch (e) {
      throw new HclError('STORE_WRITE_FAILED', `store ${this.location}: batch of ${ops.length} writes failed: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Writes a snapshot: new blobs, manifest and name entry in one batch. `seq` is the next for the name. */
  async putSnapshot(input: PutSnapshotInput): Promise<PutResult> {
    if (!NAME_PATTERN.test(input.name)) {
      throw new HclError('USAGE', `snapshot name '${input.name}': use letters, digits and . _ + - (no @), at most 128 characters`);
    }
    if (input.parent != null && !ID_PATTERN.test(input.parent)) throw new TypeError(`putSnapshot: parent must be a full snapshot id`);
    const blobs = new Map<string, Uint8Array>();
    const parts: PartRef[] = input.parts.map((p) => {
      const sha256 = sha256Hex(p.bytes);
      const { pieces, chunks } = splitPart(p.bytes, sha256);
      for (const c of pieces) blobs.set(c.sha256, c.bytes);
      return { name: p.name, sha256, size: p.bytes.length, meta: p.meta ?? {}, ...(chunks === undefined ? {} : { chunks }) };
    });
    if (new Set(parts.map((p) => p.name)).size !== parts.length) throw new TypeError('putSnapshot: part names must be unique');
    return this.#exclusive(async () => {
      const body: ManifestBody = {
        format: MANIFEST_FORMAT,
        name: input.name,
        seq: await this.#nextSeq(input.name),
        parent: input.parent ?? null,
        time: input.time ?? new Date().toISOString(),
        tool: input.tool ?? TOOL_VERSION,
        info: input.info ?? {},
        parts,
      };
      const { id, bytes } = encodeManifest(body);
      return this.#commit(id, bytes, body, blobs);
    });
  }

  // `blobs`: uncompressed bytes of every blob (whole part or chunk) the manifest refers to.
  async #commit(id: string, bytes: Uint8Array, body: ManifestBody, blobs: Map<string, Uint8Array>): Promise<PutResult> {
    const shas = [...blobs.keys()];
    const present = await this.sub.blobs.hasMany(shas.map(keyOf));
    const ops: WriteOp[] = [];
    let newBytes = 0;
    let storedBytes = 0;
    shas.forEach((sha, i) => {
      if (present[i] === true) return;
      const b = blobs.get(sha) as Uint8Array;
      const value = encodeBlob(b);
      newBytes += b.length;
      storedBytes += value.length;
      ops.push({ sub: this.sub.blobs, key: keyOf(sha), value });
    });
    const newBlobs = ops.length;
    ops.push({ sub: this.sub.manifests, key: keyOf(id), value: bytes });
    ops.push({ sub: this.sub.names, key: nameKey(body.name, body.seq), value: keyOf(id) });
    const counter = await this.sub.meta.get(seqCounterKey(body.name));
    if (counter === undefined || readU32(counter) < body.seq) ops.push({ sub: this.sub.meta, key: seqCounterKey(body.name), value: u32Bytes(body.seq) });
    await this.#write(ops);
    return { id, name: body.name, seq: body.seq, bytes: manifestBytes(body), newBytes, storedBytes, newBlobs };
  }

  // Seqs are never reused, even after rm of the latest: NAME@N always means one snapshot.
  async #nextSeq(name: string): Promise<number> {
    const counter = await this.sub.meta.get(seqCounterKey(name));
    const last = Math.max(counter === undefined ? 0 : readU32(counter), (await this.#latest(name))?.seq ?? 0);
    return last + 1;
  }

  async #latest(name: string): Promise<{ seq: number; id: string } | undefined> {
    for await (const [k, v] of this.sub.names.iterator({ ...nameRange(name), reverse: true, limit: 1 })) {
      const parsed = parseNameKey(k);
      if (parsed !== null) return { seq: parsed.seq, id: textOf(v) };
    }
    return undefined;
  }

  /**
   * Resolves a ref to a full id: `NAME@N`, a unique hex prefix of at least 4 digits, or `NAME`
   * (its latest seq). STORE_NOT_FOUND if nothing matches, STORE_AMBIGUOUS_REF listing candidates.
   */
  async resolve(ref: string): Promise<string> {
    const at = /^(.+)@(\d+)$/.exec(ref);
    if (at !== null) {
      const id = NAME_PATTERN.test(at[1] as string) ? await this.sub.names.get(nameKey(at[1] as string, Number(at[2]))) : undefined;
      if (id === undefined) throw new HclError('STORE_NOT_FOUND', `store ${this.location}: no snapshot ${ref}`);
      return textOf(id);
    }
    const found = new Map<string, string>();
    if (/^[0-9a-fA-F]{4,64}$/.test(ref)) {
      for await (const k of this.sub.manifests.keys({ ...prefixRange(ref.toLowerCase()), limit: 10 })) {
        found.set(textOf(k), textOf(k).slice(0, 12));
      }
    }
    const latest = NAME_PATTERN.test(ref) ? await this.#latest(ref) : undefined;
    if (latest !== undefined) found.set(latest.id, `${ref}@${latest.seq} (${latest.id.slice(0, 12)})`);
    if (found.size === 0) throw new HclError('STORE_NOT_FOUND', `store ${this.location}: no snapshot matches '${ref}' (try hclckpt ls)`);
    if (found.size > 1) {
      throw new HclError('STORE_AMBIGUOUS_REF', `store ${this.location}: '${ref}' matches several snapshots: ${[...found.values()].join(', ')}; give more hex digits or NAME@N`, {
        context: { candidates: [...found.keys()] },
      });
    }
    return [...found.keys()][0] as string;
  }

  /** @internal the manifest of `id` and its exact bytes, hash-checked (STORE_CORRUPT / STORE_NOT_FOUND). */
  async loadManifest(id: string): Promise<{ manifest: Manifest; bytes: Uint8Array }> {
    const bytes = await this.sub.manifests.get(keyOf(id));
    if (bytes === undefined) throw new HclError('STORE_NOT_FOUND', `store ${this.location}: no snapshot ${id}`);
    return { manifest: decodeManifest(bytes, id, `store ${this.location}: snapshot ${id}`, 'STORE_CORRUPT'), bytes };
  }

  /** The verified manifest of a ref, without reading its blobs. */
  async getManifest(ref: string): Promise<Manifest> {
    return (await this.loadManifest(await this.resolve(ref))).manifest;
  }

  /**
   * A snapshot with every part's bytes; each blob (whole part or chunk) is re-hashed, and each
   * chunked part re-hashed whole (STORE_CORRUPT names snapshot and part).
   */
  async getSnapshot(ref: string): Promise<Snapshot> {
    const { manifest } = await this.loadManifest(await this.resolve(ref));
    return { manifest, parts: await readParts(this.sub.blobs, manifest, `store ${this.location}`) };
  }

  /** Stored bytes (after compression) of the distinct blobs a snapshot refers to, plus its manifest. */
  async storedSize(ref: string): Promise<number> {
    const { manifest, bytes } = await this.loadManifest(await this.resolve(ref));
    const shas = [...new Set(manifest.parts.flatMap((p) => piecesOf(p).map((c) => c.sha256)))];
    return (await this.sub.blobs.getMany(shas.map(keyOf))).reduce((n, v) => n + (v?.length ?? 0), bytes.length);
  }

  /** Every snapshot's manifest, ordered by time, then name, then seq. */
  async list(): Promise<Manifest[]> {
    const out: Manifest[] = [];
    for await (const [k, v] of this.sub.manifests.iterator()) {
      const id = textOf(k);
      out.push(decodeManifest(v, id, `store ${this.location}: snapshot ${id} (run hclckpt verify)`, 'STORE_CORRUPT'));
    }
    return out.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : a.seq - b.seq));
  }

  /** Removes a snapshot's manifest and name entries (works on a corrupt manifest too); blobs wait for gc. */
  async remove(ref: string): Promise<{ id: string; names: string[] }> {
    return this.#exclusive(async () => {
      const id = await this.resolve(ref);
      const ops: WriteOp[] = [{ sub: this.sub.manifests, key: keyOf(id) }];
      const names: string[] = [];
      for await (const [k, v] of this.sub.names.iterator()) {
        const parsed = parseNameKey(k);
        if (textOf(v) === id && parsed !== null) {
          ops.push({ sub: this.sub.names, key: k });
          names.push(`${parsed.name}@${parsed.seq}`);
        }
      }
      await this.#write(ops);
      return { id, names };
    });
  }

  /** Checks every manifest hash and blob hash (or only those of `ref`); problems are reported, not thrown. */
  async verify(ref?: string): Promise<VerifyReport> {
    return verifyStore(this, ref === undefined ? undefined : await this.resolve(ref));
  }

  /** Mark and sweep: deletes blobs no manifest refers to, in one batch; refuses on a corrupt manifest. */
  async gc(): Promise<GcReport> {
    return this.#exclusive(async () => gcStore(this, (ops) => this.#write(ops)));
  }

  /** Writes a verified snapshot to a self-describing `.hclsnap` file. */
  async exportSnapshot(ref: string, file: string): Promise<{ id: string; file: string; bytes: number }> {
    const { manifest, parts } = await this.getSnapshot(ref);
    const { bytes: mbytes } = await this.loadManifest(manifest.id);
    const out = encodeArchive(manifest, mbytes, parts);
    await writeArchive(file, out);
    return { id: manifest.id, file, bytes: out.length };
  }

  /**
   * Imports an `.hclsnap` file: the whole file is verified first, then written in one batch.
   * A snapshot already present is a no-op; a different snapshot at its NAME@N is STORE_CONFLICT.
   */
  async importSnapshot(file: string): Promise<ImportResult> {
    const a = await readArchive(file);
    const m = a.manifest;
    return this.#exclusive(async () => {
      const summary = { id: m.id, name: m.name, seq: m.seq, bytes: manifestBytes(m) };
      if ((await this.sub.manifests.get(keyOf(m.id))) !== undefined) return { ...summary, newBytes: 0, storedBytes: 0, newBlobs: 0, imported: false };
      const taken = await this.sub.names.get(nameKey(m.name, m.seq));
      if (taken !== undefined) {
        throw new HclError('STORE_CONFLICT', `${file}: ${m.name}@${m.seq} is already snapshot ${textOf(taken).slice(0, 12)} in store ${this.location}, not ${m.id.slice(0, 12)}`);
      }
      return { ...(await this.#commit(m.id, a.manifestBytes, m, a.pieces)), imported: true };
    });
  }

  /** Stores a property-run record (any canonical-msgpack value) under `id`, replacing any earlier one. */
  async putRun(id: string, record: unknown): Promise<void> {
    await this.#write([{ sub: this.sub.runs, key: keyOf(id), value: encodeCanonical(record) }]);
  }

  /** The property-run record stored under `id`, or undefined. */
  async getRun(id: string): Promise<unknown> {
    const v = await this.sub.runs.get(keyOf(id));
    return v === undefined ? undefined : decodeCanonical(v, `store ${this.location}: run ${id}`);
  }

  /** Every property-run record, ordered by id. */
  async listRuns(): Promise<Array<{ id: string; record: unknown }>> {
    const out: Array<{ id: string; record: unknown }> = [];
    for await (const [k, v] of this.sub.runs.iterator()) out.push({ id: textOf(k), record: decodeCanonical(v, `store ${this.location}: run ${textOf(k)}`) });
    return out;
  }

  /** Deletes a property-run record (no error if absent). */
  async deleteRun(id: string): Promise<void> {
    await this.#write([{ sub: this.sub.runs, key: keyOf(id) }]);
  }
}

/** Opens the store at `dir` (default: HCLCKPT_STORE or ./.hclckpt). */
export function openStore(dir?: string): Promise<SnapshotStore> {
  return SnapshotStore.open(dir === undefined ? {} : { dir });
}
