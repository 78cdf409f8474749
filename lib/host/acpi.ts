import { ByteWriter } from '../bytes/index.ts';
import type { VmConfig } from '../config/index.ts';
import { encodeSlit } from '../abi/index.ts';

/**
 * The ACPI tables the host puts in the parameter region next to the device tree: the SLIT from
 * the distance matrix (encoder in lib/abi/slit.ts, shared with its decoder) and a PPTT
 * (ACPI 6.4 §5.2.29) with one physical package per NUMA node and one leaf processor per VP.
 */

/** The config's distance matrix, or the firmware default (10 local, 20 remote). */
export function distanceMatrix(c: VmConfig): number[][] {
  return c.distances ?? c.numa.map((_, i) => c.numa.map((__, j) => (i === j ? 10 : 20)));
}

/** The SLIT bytes for a config. */
export function hostSlit(c: VmConfig): Uint8Array {
  return encodeSlit(distanceMatrix(c));
}

const ACPI_HEADER = 36;
const PPTT_REVISION = 3;
/** Processor hierarchy node flags (ACPI 6.4 table 5.158). */
export const PPTT_FLAGS = { PHYSICAL_PACKAGE: 1, ACPI_ID_VALID: 2, THREAD: 4, LEAF: 8, IDENTICAL: 16 } as const;
const NODE_SIZE = 20;

/** An ACPI table: 36-byte header (signature, length, revision, checksum, OEM ids) then `body`. */
export function acpiTable(signature: string, revision: number, body: Uint8Array): Uint8Array {
  const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
  const out = new ByteWriter(ACPI_HEADER + body.length)
    .bytes(ascii(signature)).u32(ACPI_HEADER + body.length).u8(revision).u8(0)
    .bytes(ascii('HCLCKP')).bytes(ascii('HCLCKPT ')).u32(1).bytes(ascii('HCLK')).u32(1)
    .bytes(body).finish();
  // The checksum byte makes all bytes of the table sum to zero (mod 256).
  let sum = 0;
  for (let i = 0; i < out.length; i++) sum += out[i]!;
  out[9] = (256 - (sum % 256)) % 256;
  return out;
}

/**
 * A PPTT for a config: type-0 processor hierarchy nodes, first one package per vnode (physical
 * package, identical), then one leaf per VP (ACPI processor id = VP index) whose parent is its
 * vnode's package, as a byte offset from the start of the table.
 */
export function hostPptt(c: VmConfig): Uint8Array {
  const packages = c.numa.length;
  // Fixed 20-byte records into one sized buffer: a checked writer call per field was most of a
  // 2048-VP host build. Every value is a config index or a small constant, so all fit their fields.
  const body = new Uint8Array(NODE_SIZE * (packages + c.vps.length));
  const v = new DataView(body.buffer);
  let at = 0;
  const node = (flags: number, parent: number, id: number): void => {
    body[at + 1] = NODE_SIZE; // type 0, length, two reserved bytes
    v.setUint32(at + 4, flags, true);
    v.setUint32(at + 8, parent, true);
    v.setUint32(at + 12, id, true); // then 4 bytes: no private resources
    at += NODE_SIZE;
  };
  for (let n = 0; n < packages; n++) node(PPTT_FLAGS.PHYSICAL_PACKAGE | PPTT_FLAGS.IDENTICAL | PPTT_FLAGS.ACPI_ID_VALID, 0, n);
  c.vps.forEach((vp, i) => node(PPTT_FLAGS.ACPI_ID_VALID | PPTT_FLAGS.LEAF | PPTT_FLAGS.IDENTICAL, ACPI_HEADER + NODE_SIZE * vp.vnode, i));
  return acpiTable('PPTT', PPTT_REVISION, body);
}
