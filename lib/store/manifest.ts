import { HclError, type HclErrorCode } from '../errors.ts';
import { sha256Hex } from '../bytes/index.ts';
import { decodeCanonical, encodeCanonical } from '../state/codec.ts';
import type { Manifest, ManifestBody, PartRef } from './types.ts';

/** Manifest format this code writes: 2 adds optional `chunks` to part refs. */
export const MANIFEST_FORMAT = 2;

/** Every manifest format this code reads (1: every part is one whole blob). */
export const MANIFEST_FORMATS_READ: readonly number[] = [1, 2];

/** Snapshot names: no `@` (it separates the seq), no control bytes (the name index uses NUL). */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

/** Full snapshot id / blob key: lowercase hex sha256. */
export const ID_PATTERN = /^[0-9a-f]{64}$/;

/** Highest seq a name can reach: the name index keys seqs as u32 (keys.ts), so none may wrap. */
export const MAX_SEQ = 0xffff_ffff;

/** Default bound on a snapshot's logical size (its parts' bytes): what show/restore would allocate. */
export const DEFAULT_MAX_SNAPSHOT_BYTES = 1024 * 1024 * 1024;

/** SNAPSHOT_TOO_LARGE unless a manifest's parts add up to at most `limit` bytes; checked before any part is read. */
export function checkLogicalSize(m: ManifestBody, limit: number, where: string): void {
  const total = manifestBytes(m);
  if (total > limit) {
    throw new HclError('SNAPSHOT_TOO_LARGE', `${where}: snapshot ${m.name}@${m.seq} declares ${total} bytes of parts, more than the limit of ${limit} (raise it with --max-snapshot-bytes)`);
  }
}

/** Canonical bytes of a manifest body and the id they hash to. */
export function encodeManifest(body: ManifestBody): { id: string; bytes: Uint8Array } {
  const bytes = encodeCanonical(body);
  return { id: sha256Hex(bytes), bytes };
}

/**
 * Decodes and checks stored manifest bytes. `expectId` is the key or header id they must hash
 * to; any mismatch or malformed field is an HclError `code` whose message starts with `where`.
 */
export function decodeManifest(bytes: Uint8Array, expectId: string, where: string, code: HclErrorCode): Manifest {
  const actual = sha256Hex(bytes);
  if (actual !== expectId) {
    throw new HclError(code, `${where}: manifest bytes hash to ${actual.slice(0, 12)}, not to the snapshot id`);
  }
  let v: unknown;
  try {
    v = decodeCanonical(bytes, `${where}: manifest`);
  } catch (e) {
    throw new HclError(code, e instanceof Error ? e.message : String(e), { cause: e });
  }
  const problem = manifestProblem(v);
  if (problem !== null) throw new HclError(code, `${where}: malformed manifest: ${problem}`);
  return { id: expectId, ...(v as ManifestBody) };
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

/**
 * The first malformed field of a manifest body, or null: the one schema that save, import and
 * every read apply, so a snapshot no save could write cannot be imported either.
 */
export function manifestProblem(v: unknown): string | null {
  if (!isRecord(v)) return 'not a map';
  const format = v['format'];
  if (typeof format !== 'number' || !MANIFEST_FORMATS_READ.includes(format)) return `format ${String(format)} is not one of ${MANIFEST_FORMATS_READ.join(', ')}`;
  if (typeof v['name'] !== 'string' || !NAME_PATTERN.test(v['name'])) return 'name';
  if (typeof v['seq'] !== 'number' || !Number.isInteger(v['seq']) || v['seq'] < 1 || v['seq'] > MAX_SEQ) return `seq ${String(v['seq'])} is not an integer 1..${MAX_SEQ}`;
  if (v['parent'] !== null && (typeof v['parent'] !== 'string' || !ID_PATTERN.test(v['parent']))) return 'parent';
  if (typeof v['time'] !== 'string' || v['time'].length > 64) return 'time';
  if (typeof v['tool'] !== 'string' || v['tool'].length > 128) return 'tool';
  if (!isRecord(v['info'])) return 'info';
  const parts = v['parts'];
  if (!Array.isArray(parts)) return 'parts';
  const seen = new Set<string>();
  for (const [i, p] of parts.entries()) {
    if (!isRecord(p)) return `parts[${i}]`;
    const ref = p as Partial<PartRef>;
    if (typeof ref.name !== 'string' || seen.has(ref.name)) return `parts[${i}].name`;
    seen.add(ref.name);
    if (typeof ref.sha256 !== 'string' || !ID_PATTERN.test(ref.sha256)) return `parts[${i}].sha256`;
    if (typeof ref.size !== 'number' || !Number.isSafeInteger(ref.size) || ref.size < 0) return `parts[${i}].size`;
    if (!isRecord(ref.meta)) return `parts[${i}].meta`;
    if ('chunks' in ref) {
      const problem = format < 2 ? ' not in format 1' : checkChunks(ref.chunks, ref.size);
      if (problem !== null) return `parts[${i}].chunks${problem}`;
    }
  }
  return null;
}

// A chunk list must be non-empty, well-formed and add up to exactly the part's size.
function checkChunks(chunks: unknown, size: number): string | null {
  if (!Array.isArray(chunks) || chunks.length === 0) return ': not a non-empty list';
  let total = 0;
  for (const [j, c] of chunks.entries()) {
    if (!isRecord(c) || typeof c['sha256'] !== 'string' || !ID_PATTERN.test(c['sha256'])) return `[${j}].sha256`;
    const n = c['size'];
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) return `[${j}].size`;
    total += n;
  }
  return total === size ? null : `: sizes add up to ${total}, part size is ${size}`;
}

/** Total bytes of a manifest's parts. */
export function manifestBytes(m: ManifestBody): number {
  return m.parts.reduce((n, p) => n + p.size, 0);
}
