import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import { readFdt, writeFdt, type Fdt } from '../../lib/fdt/index.ts';
import type { PartInput } from '../../lib/store/index.ts';

/**
 * The bench's baselines, measured on exactly the state hclckpt saves:
 * - the raw floor: msgpackr pack + unpack of the unit objects, one classic-level batch write and
 *   read of the snapshot's part bytes, and FDT write + parse of the VM's device trees;
 * - the JSON peer: every part as its own JSON file (bigint as decimal strings, bytes as base64),
 *   written to a directory and read back, which is what a user would otherwise script.
 */

/** The state of one VM as the baselines see it: plain objects, the part bytes and the DT trees. */
export interface BaselineState {
  /** Named plain values: init state, each unit state, hv registers, shim checkpoint, VM info. */
  objects: Array<{ name: string; value: unknown }>;
  /** Raw bytes that travel as they are (the IGVM file). */
  bytes: Array<{ name: string; value: Uint8Array }>;
  /** The snapshot parts exactly as hclckpt writes them. */
  parts: PartInput[];
  /** Device trees the boot writes and parses (host DT, kernel DT). */
  trees: Fdt[];
}

// Plain msgpackr with the options the canonical codec uses, minus canonicalisation: the floor.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'bigint' });

/** msgpackr pack + unpack of every object; returns the packed byte count. */
export function rawMsgpack(state: BaselineState): number {
  let n = 0;
  for (const o of state.objects) {
    const b = packr.pack(o.value);
    n += b.length;
    packr.unpack(b);
  }
  return n;
}

/** A LevelDB (classic-level) opened in `dir` for the raw write/read baseline. */
export interface RawLevel {
  db: import('classic-level').ClassicLevel<string, Uint8Array>;
  close(): Promise<void>;
}

/** Opens the classic-level database the raw baseline writes to. */
export async function openRawLevel(dir: string): Promise<RawLevel> {
  const { ClassicLevel } = await import('classic-level');
  const db = new ClassicLevel<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  return { db, close: () => db.close() };
}

/** One batch write of every part's bytes under `prefix`, then one getMany of them back. */
export async function rawLevel(level: RawLevel, state: BaselineState, prefix: string): Promise<number> {
  const batch = level.db.batch();
  for (const p of state.parts) batch.put(`${prefix}/${p.name}`, p.bytes);
  await batch.write();
  const back = await level.db.getMany(state.parts.map((p) => `${prefix}/${p.name}`));
  return back.reduce((n, b) => n + (b?.length ?? 0), 0);
}

/** FDT write + parse of every tree; returns the DTB byte count. */
export function rawFdt(state: BaselineState): number {
  let n = 0;
  for (const t of state.trees) {
    const b = writeFdt(t);
    n += b.length;
    readFdt(b);
  }
  return n;
}

function jsonText(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
    return v;
  });
}

const fileOf = (name: string): string => `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.json`;

/** The JSON peer: writes every object and byte part as a JSON file in `dir`, reads each back and parses it; returns the bytes written. */
export async function jsonPeer(state: BaselineState, dir: string): Promise<number> {
  await mkdir(dir, { recursive: true });
  const files = [
    ...state.objects.map((o) => ({ file: fileOf(o.name), text: jsonText(o.value) })),
    ...state.bytes.map((b) => ({ file: fileOf(b.name), text: jsonText({ base64: b.value }) })),
  ];
  let written = 0;
  for (const f of files) {
    await writeFile(join(dir, f.file), f.text);
    written += Buffer.byteLength(f.text);
  }
  for (const f of files) {
    const v = JSON.parse(await readFile(join(dir, f.file), 'utf8')) as { base64?: unknown };
    if (typeof v.base64 === 'string') Buffer.from(v.base64, 'base64');
  }
  return written;
}

/** Removes a baseline's scratch directory. */
export async function clearDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
