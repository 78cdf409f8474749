/**
 * The canonical JSON rendering of decoded state, used by `show`, `--json` and `diff --unified`:
 * keys sorted, bigint as `"123n"`, byte buffers as `"hex:0a0b…"`, two-space indent. Any two
 * snapshots rendered this way can be compared with ordinary text tools.
 */

/** A value with bigint and bytes replaced by their canonical JSON strings and object keys sorted. */
export function toCanonicalJsonValue(v: unknown): unknown {
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Uint8Array) return `hex:${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
  if (Array.isArray(v)) return v.map(toCanonicalJsonValue);
  if (typeof v === 'object' && v !== null) {
    const src = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(src).sort()) if (src[k] !== undefined) out[k] = toCanonicalJsonValue(src[k]);
    return out;
  }
  return v;
}

/** Canonical JSON text of `v` (ends without a newline). */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(toCanonicalJsonValue(v), null, 2) ?? 'null';
}
