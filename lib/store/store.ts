import { TOOL_VERSION } from '../version.ts';
import { sha256Hex } from '../bytes/index.ts';
import { HclError } from '../errors.ts';
import { faultActive } from '../faults.ts';
import { encodeArchive, readArchive, writeArchive, type ArchiveContents } from './archive.ts';
import { backendError, openLevelDb, storeDir, type StoreDb } from './backend.ts';
import { decodeBlob, encodeBlob } from './blob.ts';
import { piecesOf, splitPart } from './chunks.ts';
import { checkFormat } from './format.ts';
import { Journal, type JournalEntry } from './journal.ts';
import { keyOf, nameKey, parseNameKey, readU32, seqCounterKey, textOf, u32Bytes } from './keys.ts';
import { nextSeq, resolveRef } from './refs.ts';
import { gcStore, verifyStore } from './maintenance.ts';
import {
  DEFAULT_MAX_SNAPSHOT_BYTES, ID_PATTERN, MANIFEST_FORMAT, NAME_PATTERN,
  checkLogicalSize, decodeManifest, encodeManifest, manifestBytes, manifestProblem,
} from './manifest.ts';
import { readParts } from './read.ts';
import type { StoreSeams, Sub, Sublevels, WriteOp } from './sublevels.ts';
import type { GcReport, ImportResult, Manifest, ManifestBody, PartRef, PutResult, PutSnapshotInput, Snapshot, VerifyReport } from './types.ts';

export { STORE_FORMAT } from './format.ts';

/** Options of `SnapshotStore.open`. */
export interface OpenOptions {
  /** An abstract-level database to use (tests pass a MemoryLevel); the store closes it. */
  db?: StoreDb;
  /** LevelDB directory when `db` is absent; default `./.hclckpt`. With `db`, a label only. */
  dir?: string;
  /** A read-only command: never create a store (STORE_NOT_FOUND), never migrate or write. */
  readOnly?: boolean;
  /** Largest logical snapshot size read, written or imported; default DEFAULT_MAX_SNAPSHOT_BYTES. */
  maxSnapshotBytes?: number;
  /** Planted defects; only tests pass this. */
  seams?: StoreSeams;
}

/** A snapshot the journal records as committed that the store no longer holds. */
export interface MissingSnapshot {
  id: string;
  name: string;
  seq: number;
}

/**
 * The snapshot store (DESIGN.md §4): content-addressed blobs plus manifests, written in one
 * synced atomic batch per snapshot, every read re-hashed. Works on any abstract-level backend;
 * on LevelDB it also keeps the journal (journal.ts).
 */
export class SnapshotStore {
  /** Directory (LevelDB) or a label of the backend; used in every message. */
  readonly location: string;
  /** @internal sublevels, for maintenance.ts. */
  readonly sub: Sublevels;
  /** The journal of a LevelDB store; null on a database passed in. */
  readonly journal: Journal | null;
  readonly #db: StoreDb;
  readonly #limit: number;
  readonly #seams: StoreSeams;
  readonly #readOnly: boolean;
  #tail: Promise<unknown> = Promise.resolve();
  readonly #pending = new Set<Promise<unknown>>();
  #closed = false;

  private constructor(db: StoreDb, location: string, journal: Journal | null, opts: OpenOptions) {
    this.#db = db;
    this.location = location;
    this.journal = journal;
    this.#limit = opts.maxSnapshotBytes ?? DEFAULT_MAX_SNAPSHOT_BYTES;
    this.#seams = opts.seams ?? {};
    this.#readOnly = opts.readOnly === true;
    const mk = (name: string): Sub => db.sublevel<Uint8Array, Uint8Array>(name, { keyEncoding: 'view', valueEncoding: 'view' }) as Sub;
    this.sub = { manifests: mk('manifests'), blobs: mk('blobs'), names: mk('names'), runs: mk('runs'), meta: mk('meta') };
  }

  /**
   * Opens a store on `db`, or on LevelDB at `dir` after checking its identity (identity.ts):
   * STORE_LOCKED if another process holds it, STORE_NOT_FOUND for a read-only open of no store.
   */
  static async open(opts: OpenOptions = {}): Promise<SnapshotStore> {
    const location = opts.db !== undefined ? (opts.dir ?? `(${opts.db.constructor.name})`) : storeDir(opts.dir);
    const db = opts.db ?? (await openLevelDb(location, opts.readOnly === true));
    if (db.status !== 'open') await db.open();
    const store = new SnapshotStore(db, location, opts.db === undefined ? new Journal(location) : null, opts);
    try {
      await checkFormat(store, opts.readOnly === true, (ops) => store.#write(ops));
    } catch (e) {
      await db.close();
      throw backendError(e, location);
    }
    return store;
  }

  /**
   * Waits for every operation already started (a save still reading its archive, say) to finish,
   * then closes the backend; operations started after this fail with STORE_CLOSED.
   */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
    await this.#db.close();
  }

  // Every public operation runs through here, so close() knows what is still running.
  #track<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new HclError('STORE_CLOSED', `store ${this.location}: already closed; nothing was read or written`));
    const run = fn().catch((e: unknown) => Promise.reject(backendError(e, this.location)));
    this.#pending.add(run);
    const done = () => this.#pending.delete(run);
    run.then(done, done);
    return run;
  }

  /** Runs writer `fn` after every earlier one: seq numbers and gc need a stable view. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    // Every writer comes through here; a read-only open (ls, verify, show…) must never write.
    if (this.#readOnly) return Promise.reject(new TypeError(`store ${this.location}: opened read-only, a write was attempted`));
    return this.#track(() => {
      const run = this.#tail.then(fn, fn);
      this.#tail = run.catch(() => undefined);
      return run;
    });
  }

  /**
   * Every write goes through here, as one atomic batch synced to disk before it resolves, so a
   * reported save survives a crash. Fault point `store-write-fail` (lib/faults.ts) rejects the
   * batch before the backend sees any of it, which is what a failed atomic write leaves behind.
   */
  async #write(ops: WriteOp[]): Promise<void> {
    if (faultActive('store-write-fail')) {
      throw new HclError('STORE_WRITE_FAILED', `store ${this.location}: batch of ${ops.length} writes refused (fault store-write-fail injected)`);
    }
    const batch = this.#db.batch();
    for (const op of ops) {
      if (op.value === undefined) batch.del(op.key, { sublevel: op.sub });
      else batch.put(op.key, op.value, { sublevel: op.sub });
    }
    try {
      await batch.write({ sync: true });
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
        seq: await nextSeq(this.sub, this.location, input.name),
        parent: input.parent ?? null,
        time: input.time ?? new Date().toISOString(),
        tool: input.tool ?? TOOL_VERSION,
        info: input.info ?? {},
        parts,
      };
      const problem = manifestProblem(body);
      if (problem !== null) throw new HclError('USAGE', `store ${this.location}: snapshot ${input.name}: ${problem}`);
      checkLogicalSize(body, this.#limit, `store ${this.location}`);
      const { id, bytes } = encodeManifest(body);
      return this.#commit(id, bytes, body, blobs);
    });
  }

  // `blobs`: uncompressed bytes of every blob (whole part or chunk) the manifest refers to. A
  // blob already stored is re-read and re-hashed first: a new snapshot must not refer to a
  // damaged copy, so a damaged one is rewritten in the same batch and reported.
  async #commit(id: string, bytes: Uint8Array, body: ManifestBody, blobs: Map<string, Uint8Array>): Promise<PutResult> {
    const shas = [...blobs.keys()];
    const stored = await this.sub.blobs.getMany(shas.map(keyOf));
    const ops: WriteOp[] = [];
    const repairedBlobs: string[] = [];
    let newBlobs = 0;
    let newBytes = 0;
    let storedBytes = 0;
    shas.forEach((sha, i) => {
      const b = blobs.get(sha) as Uint8Array;
      const old = stored[i];
      if (old !== undefined && typeof decodeBlob(old, sha, b.length) !== 'string') return;
      const value = encodeBlob(b);
      if (old === undefined) {
        newBlobs++;
        newBytes += b.length;
      } else repairedBlobs.push(sha);
      storedBytes += value.length;
      ops.push({ sub: this.sub.blobs, key: keyOf(sha), value });
    });
    ops.push({ sub: this.sub.manifests, key: keyOf(id), value: bytes });
    ops.push({ sub: this.sub.names, key: nameKey(body.name, body.seq), value: keyOf(id) });
    const counter = await this.sub.meta.get(seqCounterKey(body.name));
    if (counter === undefined || readU32(counter) < body.seq) ops.push({ sub: this.sub.meta, key: seqCounterKey(body.name), value: u32Bytes(body.seq) });
    await this.#write(ops);
    await this.journal?.append([{ op: 'commit', id, name: body.name, seq: body.seq }]);
    return { id, name: body.name, seq: body.seq, bytes: manifestBytes(body), newBytes, storedBytes, newBlobs, repairedBlobs };
  }

  /**
   * Resolves a ref to a full id: `NAME@N`, a unique hex prefix of at least 4 digits, or `NAME`
   * (its latest seq). STORE_NOT_FOUND if nothing matches, STORE_AMBIGUOUS_REF listing candidates,
   * USAGE for a seq that is not a decimal integer 1..MAX_SEQ.
   */
  resolve(ref: string): Promise<string> {
    return this.#track(() => resolveRef(this.sub, this.location, ref));
  }

  /** @internal the manifest of `id` and its exact bytes, hash-checked (STORE_CORRUPT / STORE_NOT_FOUND). */
  async loadManifest(id: string): Promise<{ manifest: Manifest; bytes: Uint8Array }> {
    const bytes = await this.sub.manifests.get(keyOf(id));
    if (bytes === undefined) throw new HclError('STORE_NOT_FOUND', `store ${this.location}: no snapshot ${id}`);
    return { manifest: decodeManifest(bytes, id, `store ${this.location}: snapshot ${id}`, 'STORE_CORRUPT'), bytes };
  }

  /** The verified manifest of a ref, without reading its blobs. */
  getManifest(ref: string): Promise<Manifest> {
    return this.#track(async () => (await this.loadManifest(await resolveRef(this.sub, this.location, ref))).manifest);
  }

  /**
   * A snapshot with every part's bytes; each blob (whole part or chunk) is decoded once and
   * re-hashed, each chunked part re-hashed whole (STORE_CORRUPT names snapshot and part). Its
   * declared size is checked against the limit before anything is read (SNAPSHOT_TOO_LARGE).
   */
  getSnapshot(ref: string): Promise<Snapshot> {
    return this.#track(() => this.#getSnapshot(ref));
  }

  async #getSnapshot(ref: string): Promise<Snapshot & { bytes: Uint8Array }> {
    const { manifest, bytes } = await this.loadManifest(await resolveRef(this.sub, this.location, ref));
    checkLogicalSize(manifest, this.#limit, `store ${this.location}`);
    return { manifest, bytes, parts: await readParts(this.sub.blobs, manifest, `store ${this.location}`) };
  }

  /** Stored bytes (after compression) of the distinct blobs a snapshot refers to, plus its manifest. */
  storedSize(ref: string): Promise<number> {
    return this.#track(async () => {
      const { manifest, bytes } = await this.loadManifest(await resolveRef(this.sub, this.location, ref));
      const shas = [...new Set(manifest.parts.flatMap((p) => piecesOf(p).map((c) => c.sha256)))];
      return (await this.sub.blobs.getMany(shas.map(keyOf))).reduce((n, v) => n + (v?.length ?? 0), bytes.length);
    });
  }

  /** Every snapshot's manifest, ordered by time, then name, then seq. */
  list(): Promise<Manifest[]> {
    return this.#track(async () => {
      const out: Manifest[] = [];
      for await (const [k, v] of this.sub.manifests.iterator()) {
        const id = textOf(k);
        out.push(decodeManifest(v, id, `store ${this.location}: snapshot ${id} (run hclckpt verify)`, 'STORE_CORRUPT'));
      }
      return out.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : a.seq - b.seq));
    });
  }

  /** Snapshots the journal records as committed (and not removed) whose manifest is gone, plus damaged journal lines. */
  missing(): Promise<{ missing: MissingSnapshot[]; damagedLines: number[] }> {
    return this.#track(() => this.#missing());
  }

  async #missing(): Promise<{ missing: MissingSnapshot[]; damagedLines: number[] }> {
    if (this.journal === null) return { missing: [], damagedLines: [] };
    const { last, damaged } = await this.journal.read();
    const committed = [...last.values()].filter((e) => e.op === 'commit');
    const present = await this.sub.manifests.hasMany(committed.map((e) => keyOf(e.id)));
    const missing = committed.filter((_, i) => present[i] !== true).map(({ id, name, seq }) => ({ id, name, seq }));
    return { missing, damagedLines: damaged };
  }

  /** Removes a snapshot's manifest and name entries (works on a corrupt manifest too); blobs wait for gc. */
  async remove(ref: string): Promise<{ id: string; names: string[] }> {
    return this.#exclusive(async () => {
      const id = await resolveRef(this.sub, this.location, ref);
      const ops: WriteOp[] = [{ sub: this.sub.manifests, key: keyOf(id) }];
      const names: Array<{ name: string; seq: number }> = [];
      for await (const [k, v] of this.sub.names.iterator()) {
        const parsed = parseNameKey(k);
        if (textOf(v) === id && parsed !== null) {
          ops.push({ sub: this.sub.names, key: k });
          names.push(parsed);
        }
      }
      // Journalled first, so a crash after the batch never leaves a removed snapshot looking
      // lost; a batch that fails puts the commit record back, so a later loss is still reported.
      const first = names[0] ?? { name: '-', seq: 1 };
      const entry: JournalEntry = { op: 'remove', id, name: first.name, seq: first.seq };
      await this.journal?.append([entry]);
      try {
        await this.#write(ops);
      } catch (e) {
        await this.journal?.append([{ ...entry, op: 'commit' }]);
        throw e;
      }
      return { id, names: names.map((n) => `${n.name}@${n.seq}`) };
    });
  }

  /**
   * Checks every manifest hash and blob hash (or only those of `ref`); problems are reported, not
   * thrown. The whole-store check also reports journalled snapshots that are missing.
   */
  verify(ref?: string): Promise<VerifyReport> {
    return this.#track(async () => {
      const report = await verifyStore(this, ref === undefined ? undefined : await resolveRef(this.sub, this.location, ref));
      if (ref !== undefined) return report;
      const { missing, damagedLines } = await this.#missing();
      for (const m of missing) report.problems.push({ snapshot: m.id, part: null, problem: `${m.name}@${m.seq} was committed (journal) but is missing from the store` });
      if (damagedLines.length > 0) report.problems.push({ snapshot: '-', part: null, problem: `journal lines ${damagedLines.join(', ')} are damaged` });
      return report;
    });
  }

  /** Mark and sweep: deletes blobs no manifest refers to, in one batch; refuses on a corrupt manifest. */
  async gc(): Promise<GcReport> {
    return this.#exclusive(async () => gcStore(this, (ops) => this.#write(ops), this.#seams));
  }

  /** Writes a verified snapshot to a self-describing `.hclsnap` file. */
  exportSnapshot(ref: string, file: string): Promise<{ id: string; file: string; bytes: number }> {
    return this.#track(async () => {
      const { manifest, bytes, parts } = await this.#getSnapshot(ref);
      const out = encodeArchive(manifest, bytes, parts);
      await writeArchive(file, out);
      return { id: manifest.id, file, bytes: out.length };
    });
  }

  /**
   * Imports an `.hclsnap` file: the whole file is verified first (the manifest against the same
   * schema as a save, its size against the limit), then written in one batch. A snapshot already
   * present is a no-op; a different snapshot at its NAME@N is STORE_CONFLICT. `source` is the
   * file, or an archive already read and verified by `readArchive` (its size is checked again).
   */
  importSnapshot(source: string | ArchiveContents): Promise<ImportResult> {
    return this.#exclusive(async () => {
      const a = typeof source === 'string' ? await readArchive(source, this.#limit) : source;
      const file = typeof source === 'string' ? source : `archive ${a.manifest.id.slice(0, 12)}`;
      if (typeof source !== 'string') checkLogicalSize(a.manifest, this.#limit, file);
      const m = a.manifest;
      const summary = { id: m.id, name: m.name, seq: m.seq, bytes: manifestBytes(m) };
      if ((await this.sub.manifests.get(keyOf(m.id))) !== undefined) return { ...summary, newBytes: 0, storedBytes: 0, newBlobs: 0, repairedBlobs: [], imported: false };
      const taken = await this.sub.names.get(nameKey(m.name, m.seq));
      if (taken !== undefined) {
        throw new HclError('STORE_CONFLICT', `${file}: ${m.name}@${m.seq} is already snapshot ${textOf(taken).slice(0, 12)} in store ${this.location}, not ${m.id.slice(0, 12)}`);
      }
      return { ...(await this.#commit(m.id, a.manifestBytes, m, a.pieces)), imported: true };
    });
  }
}

/** Opens the LevelDB store at `dir` (default ./.hclckpt); `opts` as for SnapshotStore.open. */
export function openStore(dir?: string, opts: Omit<OpenOptions, 'db' | 'dir'> = {}): Promise<SnapshotStore> {
  return SnapshotStore.open(dir === undefined ? opts : { ...opts, dir });
}
