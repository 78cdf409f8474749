import { ByteReader, ByteWriter } from '../bytes/index.ts';
import { HclError } from '../errors.ts';

/**
 * The ACPI SLIT the host puts in the parameter region (pages 0–19): the standard 36-byte ACPI
 * header with signature "SLIT", then u64 locality count and count² distance bytes.
 */
const HEADER = 36;

/** Encodes a distance matrix as an ACPI SLIT table (checksum byte fixed so the sum is 0). */
export function encodeSlit(distances: number[][]): Uint8Array {
  const n = distances.length;
  const w = new ByteWriter(HEADER + 8 + n * n)
    .bytes(new TextEncoder().encode('SLIT')).u32(HEADER + 8 + n * n).u8(1).u8(0)
    .bytes(new TextEncoder().encode('HCLCKP')).bytes(new TextEncoder().encode('HCLCKPT ')).u32(1)
    .bytes(new TextEncoder().encode('HCLK')).u32(1).u64(n);
  for (const row of distances) {
    if (row.length !== n) throw new TypeError(`slit: row of ${row.length} distances in a ${n}-node matrix`);
    for (const d of row) w.u8(d);
  }
  const out = w.finish();
  out[9] = (256 - (out.reduce((s, b) => s + b, 0) % 256)) % 256;
  return out;
}

/** Decodes a SLIT; undefined when the pages are empty (no SLIT given); SHIM_HOST_DT_INVALID when broken. */
export function decodeSlit(bytes: Uint8Array): number[][] | undefined {
  if (bytes.subarray(0, 4).every((b) => b === 0)) return undefined;
  const r = new ByteReader(bytes, 'slit', 'SHIM_HOST_DT_INVALID');
  const sig = new TextDecoder().decode(r.bytes(4));
  if (sig !== 'SLIT') throw new HclError('SHIM_HOST_DT_INVALID', `slit: bad signature "${sig}"`);
  const len = r.u32();
  r.seek(HEADER);
  const n = r.u64();
  if (n > 64n || BigInt(HEADER + 8) + n * n > BigInt(len)) {
    throw new HclError('SHIM_HOST_DT_INVALID', `slit: ${n} localities do not fit in a ${len}-byte table`);
  }
  const count = Number(n);
  const out: number[][] = [];
  for (let i = 0; i < count; i++) out.push([...r.bytes(count)]);
  return out;
}
