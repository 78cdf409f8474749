import { HclError } from '../errors.ts';
import { nameKey, nameRange, parseNameKey, prefixRange, readU32, seqCounterKey, textOf } from './keys.ts';
import { MAX_SEQ, NAME_PATTERN } from './manifest.ts';
import type { Sublevels } from './sublevels.ts';

/** Snapshot refs (`NAME@N`, `NAME`, hex prefix) and seq numbers, over the store's name index. */

/** The latest seq entry of `name`, or undefined. */
export async function latestOf(sub: Sublevels, name: string): Promise<{ seq: number; id: string } | undefined> {
  for await (const [k, v] of sub.names.iterator({ ...nameRange(name), reverse: true, limit: 1 })) {
    const parsed = parseNameKey(k);
    if (parsed !== null) return { seq: parsed.seq, id: textOf(v) };
  }
  return undefined;
}

/**
 * The next seq of `name`. Seqs are never reused, even after rm of the latest, so NAME@N always
 * means one snapshot; past MAX_SEQ it is STORE_CONFLICT rather than a wrap onto seq 0.
 */
export async function nextSeq(sub: Sublevels, location: string, name: string): Promise<number> {
  const counter = await sub.meta.get(seqCounterKey(name));
  const last = Math.max(counter === undefined ? 0 : readU32(counter), (await latestOf(sub, name))?.seq ?? 0);
  if (last >= MAX_SEQ) throw new HclError('STORE_CONFLICT', `store ${location}: name ${name} has used every seq up to ${MAX_SEQ}; save under another name`);
  return last + 1;
}

/**
 * Resolves a ref to a full id (see SnapshotStore.resolve). The seq of `NAME@N` is parsed
 * strictly: decimal digits without a leading zero, 1..MAX_SEQ, else USAGE.
 */
export async function resolveRef(sub: Sublevels, location: string, ref: string): Promise<string> {
  const at = /^(.+)@([^@]*)$/.exec(ref);
  if (at !== null) {
    const digits = at[2] as string;
    const seq = /^[1-9]\d{0,9}$/.test(digits) ? Number(digits) : NaN;
    if (!(seq <= MAX_SEQ)) throw new HclError('USAGE', `ref '${ref}': the seq after @ must be a decimal integer 1..${MAX_SEQ}`);
    const id = NAME_PATTERN.test(at[1] as string) ? await sub.names.get(nameKey(at[1] as string, seq)) : undefined;
    if (id === undefined) throw new HclError('STORE_NOT_FOUND', `store ${location}: no snapshot ${ref}`);
    return textOf(id);
  }
  const found = new Map<string, string>();
  if (/^[0-9a-fA-F]{4,64}$/.test(ref)) {
    for await (const k of sub.manifests.keys({ ...prefixRange(ref.toLowerCase()), limit: 10 })) {
      found.set(textOf(k), textOf(k).slice(0, 12));
    }
  }
  const latest = NAME_PATTERN.test(ref) ? await latestOf(sub, ref) : undefined;
  if (latest !== undefined) found.set(latest.id, `${ref}@${latest.seq} (${latest.id.slice(0, 12)})`);
  if (found.size === 0) {
    const short = /^[0-9a-fA-F]{1,3}$/.test(ref) ? '; an id prefix needs at least 4 hex digits' : '';
    throw new HclError('STORE_NOT_FOUND', `store ${location}: no snapshot matches '${ref}'${short} (try hclckpt ls)`);
  }
  if (found.size > 1) {
    throw new HclError('STORE_AMBIGUOUS_REF', `store ${location}: '${ref}' matches several snapshots: ${[...found.values()].join(', ')}; give more hex digits or NAME@N`, {
      context: { candidates: [...found.keys()] },
    });
  }
  return [...found.keys()][0] as string;
}
