import { gunzipSync } from 'node:zlib';
import { HclError } from '../errors.ts';

/** One cpio "newc" member. `name` is as stored, without a leading "./" or "/". */
export interface CpioEntry {
  name: string;
  /** st_mode: file type and permission bits (0o100644 for a regular file, 0o040755 for a directory). */
  mode: number;
  data: Uint8Array;
  /** Device number of a character or block node (written; reading leaves it out). */
  rdev?: { major: number; minor: number };
}

const HEADER = 110;
const TRAILER = 'TRAILER!!!';
const S_IFMT = 0o170000;
/** The regular-file type bits of st_mode. */
export const S_IFREG = 0o100000;
/** The directory type bits of st_mode. */
export const S_IFDIR = 0o040000;
const MAX_UNPACKED = 256 * 1024 * 1024;

const pad4 = (n: number): number => (n + 3) & ~3;
const bad = (at: number, why: string): HclError =>
  new HclError('KERNEL_INITRD_INVALID', `initrd at 0x${at.toString(16)}: ${why}`);

function hexField(b: Uint8Array, at: number, field: number, name: string): number {
  let v = 0;
  for (let i = 0; i < 8; i++) {
    const c = b[at + 6 + field * 8 + i]!;
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 55 : c >= 0x61 && c <= 0x66 ? c - 87 : -1;
    if (d < 0) throw bad(at, `${name} field is not hex`);
    v = v * 16 + d;
  }
  return v;
}

/**
 * Reads an initramfs as Linux unpacks it (init/initramfs.c): one or more cpio "newc" (070701)
 * or "crc" (070702) archives, each ending with TRAILER!!!, NUL padding between them, the whole
 * optionally gzip-compressed. Every size is checked; bad input is KERNEL_INITRD_INVALID.
 */
export function readCpio(input: Uint8Array): CpioEntry[] {
  let b = input;
  if (b[0] === 0x1f && b[1] === 0x8b) {
    try {
      b = new Uint8Array(gunzipSync(b, { maxOutputLength: MAX_UNPACKED }));
    } catch (e) {
      throw new HclError('KERNEL_INITRD_INVALID', `initrd: gzip data is invalid: ${(e as Error).message}`, { cause: e });
    }
  }
  const out: CpioEntry[] = [];
  let at = 0;
  let ended = true;
  while (at < b.length) {
    if (ended && b[at] === 0) { at++; continue; } // padding between archives
    if (at + HEADER > b.length) throw bad(at, `header needs ${HEADER} bytes, ${b.length - at} left`);
    const magic = String.fromCharCode(...b.subarray(at, at + 6));
    if (magic !== '070701' && magic !== '070702') throw bad(at, `bad magic "${magic}" (expected 070701)`);
    const mode = hexField(b, at, 1, 'mode');
    const size = hexField(b, at, 6, 'filesize');
    const nameSize = hexField(b, at, 11, 'namesize');
    const check = hexField(b, at, 12, 'check');
    const nameAt = at + HEADER;
    if (nameSize === 0 || nameAt + nameSize > b.length) throw bad(at, `name of ${nameSize} bytes runs past the end`);
    if (b[nameAt + nameSize - 1] !== 0) throw bad(at, 'name is not NUL-terminated');
    const name = new TextDecoder().decode(b.subarray(nameAt, nameAt + nameSize - 1));
    const dataAt = pad4(nameAt + nameSize);
    if (dataAt + size > b.length) throw bad(at, `"${name}": ${size} bytes of data run past the end`);
    const data = b.slice(dataAt, dataAt + size);
    if (magic === '070702' && data.reduce((s, x) => (s + x) >>> 0, 0) !== check) throw bad(at, `"${name}": checksum mismatch`);
    at = pad4(dataAt + size);
    ended = name === TRAILER;
    if (!ended) out.push({ name: name.replace(/^(\.\/|\/)+/, ''), mode, data });
  }
  if (!ended) throw bad(at, 'archive ends without TRAILER!!!');
  return out;
}

/** The regular files of an initramfs by path (later members replace earlier ones, as on unpack). */
export function cpioFiles(entries: readonly CpioEntry[]): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  for (const e of entries) if ((e.mode & S_IFMT) === S_IFREG) files.set(e.name, e.data);
  return files;
}

function header(ino: number, mode: number, nlink: number, size: number, nameSize: number, rdev = { major: 0, minor: 0 }): string {
  const f = [ino, mode, 0, 0, nlink, 0, size, 0, 0, rdev.major, rdev.minor, nameSize, 0];
  return `070701${f.map((v) => v.toString(16).toUpperCase().padStart(8, '0')).join('')}`;
}

/**
 * Writes a cpio "newc" archive of regular files (mode 0644), with a directory entry (0755) for
 * every parent path, all sorted by name; inode numbers count up and mtimes are 0 so the same
 * files always give the same bytes.
 */
export function writeCpio(files: ReadonlyMap<string, Uint8Array> | Record<string, Uint8Array>): Uint8Array {
  const map: ReadonlyMap<string, Uint8Array> =
    files instanceof Map ? files : new Map(Object.entries(files as Record<string, Uint8Array>));
  const entries: CpioEntry[] = [];
  const dirs = new Set<string>();
  for (const [raw, data] of map) {
    const name = raw.replace(/^(\.\/|\/)+/, '');
    if (name === '' || name.split('/').some((p) => p === '' || p === '.' || p === '..')) {
      throw new HclError('KERNEL_INITRD_INVALID', `initrd: bad file name "${raw}"`);
    }
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
    entries.push({ name, mode: S_IFREG | 0o644, data });
  }
  for (const d of dirs) entries.push({ name: d, mode: S_IFDIR | 0o755, data: new Uint8Array(0) });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return encodeCpio(entries);
}

/**
 * Writes `entries` as a cpio "newc" archive in the order given, then TRAILER!!!: inode numbers
 * count up, mtimes are 0, directories have two links. Names are taken as they are.
 */
export function encodeCpio(members: readonly CpioEntry[]): Uint8Array {
  const entries = [...members, { name: TRAILER, mode: 0, data: new Uint8Array(0) }];
  const enc = new TextEncoder();
  const chunks: Uint8Array[] = [];
  let len = 0;
  const put = (c: Uint8Array): void => { chunks.push(c); len += c.length; };
  entries.forEach((e, i) => {
    const name = enc.encode(`${e.name}\0`);
    const isDir = (e.mode & S_IFMT) === S_IFDIR;
    put(enc.encode(header(e.name === TRAILER ? 0 : i + 1, e.mode, e.name === TRAILER ? 1 : isDir ? 2 : 1, e.data.length, name.length, e.rdev)));
    put(name);
    put(new Uint8Array(pad4(len) - len));
    put(e.data);
    put(new Uint8Array(pad4(len) - len));
  });
  const out = new Uint8Array(len);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}
