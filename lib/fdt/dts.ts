import type { Fdt, FdtNode } from './types.ts';

// Printing follows dtc 1.6's tree source writer for blobs (which carry no type information):
// each value is guessed to be a string list, u32 cells or bytes with dtc's rules, so the text
// equals what `dtc -I dtb -O dts` prints for the same blob.

const ESCAPES: Record<number, string> = {
  0x07: '\\a', 0x08: '\\b', 0x09: '\\t', 0x0a: '\\n', 0x0b: '\\v', 0x0c: '\\f', 0x0d: '\\r',
  0x5c: '\\\\', 0x22: '\\"', 0x00: '\\0',
};

const isPrint = (c: number): boolean => c >= 0x20 && c <= 0x7e;
// dtc's isstring(): printable, NUL, or one of the C escapes \a..\r.
const isStringByte = (c: number): boolean => isPrint(c) || c === 0 || (c >= 0x07 && c <= 0x0d);

/** How dtc would show a value: 'string' list, u32 'cells', or 'bytes'. */
export function guessValueType(v: Uint8Array): 'string' | 'cells' | 'bytes' {
  let notString = 0;
  let nul = 0;
  for (const c of v) {
    if (!isStringByte(c)) notString++;
    if (c === 0) nul++;
  }
  if (v.length > 0 && v[v.length - 1] === 0 && notString === 0 && nul <= v.length - nul) return 'string';
  if (v.length % 4 === 0) return 'cells';
  return 'bytes';
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** The text after the property name: ";" for an empty value, else " = <value>;". */
export function formatValue(v: Uint8Array): string {
  if (v.length === 0) return ';';
  switch (guessValueType(v)) {
    case 'string': {
      let s = '';
      for (const c of v.subarray(0, -1)) s += ESCAPES[c] ?? (isPrint(c) ? String.fromCharCode(c) : `\\x${hex2(c)}`);
      return ` = "${s}";`;
    }
    case 'cells': {
      const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
      const cells: string[] = [];
      for (let at = 0; at < v.length; at += 4) cells.push(`0x${hex2(dv.getUint32(at, false))}`);
      return ` = <${cells.join(' ')}>;`;
    }
    case 'bytes':
      return ` = [${[...v].map(hex2).join(' ')}];`;
  }
}

function printNode(node: FdtNode, level: number, out: string[]): void {
  const tabs = '\t'.repeat(level);
  out.push(`${tabs}${node.name === '' ? '/' : node.name} {\n`);
  for (const p of node.properties) out.push(`${tabs}\t${p.name}${formatValue(p.value)}\n`);
  for (const c of node.children) {
    out.push('\n');
    printNode(c, level + 1, out);
  }
  out.push(`${tabs}};\n`);
}

/**
 * The tree as device tree source, byte for byte what `dtc -I dtb -O dts` prints for the blob
 * `writeFdt(fdt)`: `/dts-v1/;`, /memreserve/ lines, then the nodes in file order.
 */
export function printDts(fdt: Fdt): string {
  const out: string[] = ['/dts-v1/;\n\n'];
  const h16 = (n: bigint): string => `0x${n.toString(16).padStart(16, '0')}`;
  for (const r of fdt.reservations) out.push(`/memreserve/\t${h16(r.address)} ${h16(r.size)};\n`);
  printNode(fdt.root, 0, out);
  return out.join('');
}
