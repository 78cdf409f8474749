import { sha256Hex } from '../bytes/index.ts';
import { HclError } from '../errors.ts';
import { decodeBlob } from './blob.ts';
import { joinPieces, piecesOf } from './chunks.ts';
import { keyOf } from './keys.ts';
import type { Sublevels } from './sublevels.ts';
import type { Manifest, PartRef } from './types.ts';

/**
 * Reads every part of a verified manifest: each blob is decoded (bounded inflate) and re-hashed,
 * and a chunked part is re-hashed whole after reassembly. The first problem is STORE_CORRUPT
 * naming `where`, the snapshot and the part.
 */
export async function readParts(blobs: Sublevels['blobs'], manifest: Manifest, where: string): Promise<Map<string, Uint8Array>> {
  const shas = [...new Set(manifest.parts.flatMap((p) => piecesOf(p).map((c) => c.sha256)))];
  const stored = new Map(shas.map((sha, i) => [sha, i]));
  const values = await blobs.getMany(shas.map(keyOf));
  const parts = new Map<string, Uint8Array>();
  // Each blob is inflated once, however many parts share it (a hostile manifest may list one
  // blob a thousand times); keyed with the size, which decodeBlob checks.
  const decoded = new Map<string, Uint8Array | string>();
  for (const p of manifest.parts) {
    const at = `${where}: snapshot ${manifest.id} part ${p.name}`;
    const problem = (what: string): never => { throw new HclError('STORE_CORRUPT', `${at}: ${what}`); };
    const pieces = piecesOf(p).map((c, i) => {
      const chunk = p.chunks === undefined ? '' : `chunk ${i}: `;
      const v = values[stored.get(c.sha256) as number];
      if (v === undefined) return problem(`${chunk}blob ${c.sha256.slice(0, 12)} is missing`);
      const key = `${c.sha256}/${c.size}`;
      const b = decoded.get(key) ?? decodeBlob(v, c.sha256, c.size);
      decoded.set(key, b);
      return typeof b === 'string' ? problem(`${chunk}${b}`) : b;
    });
    const whole = joinPieces(pieces, p.size);
    if (p.chunks !== undefined && sha256Hex(whole) !== p.sha256) problem(`reassembled chunks do not match the part's sha256 ${p.sha256.slice(0, 12)}`);
    parts.set(p.name, new Uint8Array(whole.buffer, whole.byteOffset, whole.byteLength));
  }
  return parts;
}

/**
 * The problem of one part's stored blobs (null when it reads back whole), for verify. `seen`
 * caches results per part content and chunk list, so parts shared by snapshots are read once.
 */
export async function partProblem(blobs: Sublevels['blobs'], p: PartRef, seen: Map<string, string | null>): Promise<string | null> {
  const key = p.chunks === undefined ? p.sha256 : `${p.sha256}/${p.chunks.map((c) => c.sha256).join(',')}`;
  const known = seen.get(key);
  if (known !== undefined) return known;
  const pieces: Uint8Array[] = [];
  let problem: string | null = null;
  for (const [i, c] of piecesOf(p).entries()) {
    const v = await blobs.get(keyOf(c.sha256));
    const got = v === undefined ? `blob is missing (${c.sha256.slice(0, 12)})` : decodeBlob(v, c.sha256, c.size);
    if (typeof got === 'string') {
      problem = p.chunks === undefined ? got : `chunk ${i}: ${got}`;
      break;
    }
    pieces.push(got);
  }
  if (problem === null && p.chunks !== undefined && sha256Hex(joinPieces(pieces, p.size)) !== p.sha256) {
    problem = `reassembled chunks do not match the part's sha256 ${p.sha256.slice(0, 12)}`;
  }
  seen.set(key, problem);
  return problem;
}
