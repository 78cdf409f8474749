import { HclError } from '../errors.ts';
import type { FdtNode, FdtProperty } from './types.ts';

// One codec each: constructing a TextEncoder/TextDecoder per property dominated big trees.
const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Property strings are short ASCII almost always ("cpu", "okay"); for those a plain loop gives
// the same bytes as UTF-8 without a call into the codec per property.
function utf8(s: string): Uint8Array {
  if (s.length > 64) return encoder.encode(s);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return encoder.encode(s);
    out[i] = c;
  }
  return out;
}

// The first `end` bytes of `b` as UTF-8 (no view allocated on the ASCII path).
function fromUtf8(b: Uint8Array, end: number): string {
  if (end > 64) return decoder.decode(b.subarray(0, end));
  let s = '';
  for (let i = 0; i < end; i++) {
    const c = b[i]!;
    if (c >= 0x80) return decoder.decode(b.subarray(0, end));
    s += String.fromCharCode(c);
  }
  return s;
}

// Building: small constructors so tree code reads like a .dts file. Cells are written byte by
// byte: a DataView per property cost more than the property.

function put32(v: Uint8Array, at: number, x: number): void {
  const u = x >>> 0;
  v[at] = u >>> 24;
  v[at + 1] = u >>> 16;
  v[at + 2] = u >>> 8;
  v[at + 3] = u;
}

function put64(v: Uint8Array, at: number, x: bigint): void {
  const u = BigInt.asUintN(64, x);
  put32(v, at, Number(u >> 32n));
  put32(v, at + 4, Number(u & 0xffff_ffffn));
}

/** A node with properties and children. */
export function fdtNode(name: string, properties: FdtProperty[] = [], children: FdtNode[] = []): FdtNode {
  return { name, properties, children };
}

/** Property constructors; every value is encoded big-endian as the spec requires. */
export const prop = {
  /** An empty (boolean) property such as `dma-coherent`. */
  empty: (name: string): FdtProperty => ({ name, value: new Uint8Array(0) }),
  /** Raw bytes. */
  bytes: (name: string, value: Uint8Array): FdtProperty => ({ name, value }),
  /** One or more u32 cells. */
  u32: (name: string, ...values: number[]): FdtProperty => {
    const v = new Uint8Array(values.length * 4);
    for (let i = 0; i < values.length; i++) put32(v, i * 4, values[i]!);
    return { name, value: v };
  },
  /** One or more u64 values (two cells each). */
  u64: (name: string, ...values: bigint[]): FdtProperty => {
    const v = new Uint8Array(values.length * 8);
    for (let i = 0; i < values.length; i++) put64(v, i * 8, values[i]!);
    return { name, value: v };
  },
  /** Values of mixed cell widths: each entry is `[value, cells]` with cells 1 or 2. */
  cells: (name: string, values: Array<readonly [bigint, 1 | 2]>): FdtProperty => {
    const size = values.reduce((n, [, c]) => n + c * 4, 0);
    const v = new Uint8Array(size);
    let at = 0;
    for (const [x, c] of values) {
      if (c === 1) put32(v, at, Number(BigInt.asUintN(32, x)));
      else put64(v, at, x);
      at += c * 4;
    }
    return { name, value: v };
  },
  /** A NUL-terminated string. */
  str: (name: string, s: string): FdtProperty => ({ name, value: utf8(`${s}\0`) }),
  /** A string list (each NUL-terminated). */
  strs: (name: string, list: string[]): FdtProperty => ({
    name,
    value: utf8(list.map((s) => `${s}\0`).join('')),
  }),
};

// Reading: lookups and typed accessors. Accessors return undefined for a missing property and
// throw FDT_BAD_PROPERTY when the property exists but has the wrong size or shape.

/** The child of `root` at a slash-separated path ("/cpus/cpu@1"), or undefined. */
export function findNode(root: FdtNode, path: string): FdtNode | undefined {
  let node: FdtNode | undefined = root;
  for (const part of path.split('/').filter((p) => p !== '')) {
    node = node.children.find((c) => c.name === part);
    if (node === undefined) return undefined;
  }
  return node;
}

/** The property named `name`, or undefined. */
export function findProp(node: FdtNode, name: string): FdtProperty | undefined {
  return node.properties.find((p) => p.name === name);
}

function bad(node: FdtNode, name: string, why: string): HclError {
  return new HclError('FDT_BAD_PROPERTY', `device tree: property ${name} of node ${node.name || '/'}: ${why}`);
}

// Big-endian cells read straight from the bytes: a DataView per property read was the largest
// allocation when walking a tree of thousands of nodes.
function be32(v: Uint8Array, at: number): number {
  return ((v[at]! << 24) | (v[at + 1]! << 16) | (v[at + 2]! << 8) | v[at + 3]!) >>> 0;
}

function be64(v: Uint8Array, at: number): bigint {
  const hi = be32(v, at);
  const lo = be32(v, at + 4);
  return hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo);
}

/** A single u32 property. */
export function propU32(node: FdtNode, name: string): number | undefined {
  const p = findProp(node, name);
  if (p === undefined) return undefined;
  if (p.value.length !== 4) throw bad(node, name, `expected 4 bytes, found ${p.value.length}`);
  return be32(p.value, 0);
}

/** A single u64 property. */
export function propU64(node: FdtNode, name: string): bigint | undefined {
  const p = findProp(node, name);
  if (p === undefined) return undefined;
  if (p.value.length !== 8) throw bad(node, name, `expected 8 bytes, found ${p.value.length}`);
  return be64(p.value, 0);
}

/** A property read as a list of numbers of `cells` cells each (1 or 2). */
export function propCells(node: FdtNode, name: string, cells: number): bigint[] | undefined {
  const p = findProp(node, name);
  if (p === undefined) return undefined;
  if (cells < 1 || cells > 2) throw bad(node, name, `unsupported cell count ${cells}`);
  const w = cells * 4;
  if (p.value.length % w !== 0) throw bad(node, name, `length ${p.value.length} is not a multiple of ${w}`);
  const out: bigint[] = [];
  for (let at = 0; at < p.value.length; at += w) out.push(cells === 1 ? BigInt(be32(p.value, at)) : be64(p.value, at));
  return out;
}

/** A `reg`-style property as (address, size) pairs with the given cell counts (size may be 0 cells). */
export function propReg(
  node: FdtNode,
  name: string,
  addressCells: number,
  sizeCells: number,
): Array<{ address: bigint; size: bigint }> | undefined {
  const p = findProp(node, name);
  if (p === undefined) return undefined;
  const w = (addressCells + sizeCells) * 4;
  if (addressCells < 1 || addressCells > 2 || sizeCells < 0 || sizeCells > 2) {
    throw bad(node, name, `unsupported cells ${addressCells}/${sizeCells}`);
  }
  if (p.value.length % w !== 0) throw bad(node, name, `length ${p.value.length} is not a multiple of ${w}`);
  const v = p.value;
  const read = (at: number, c: number): bigint => (c === 0 ? 0n : c === 1 ? BigInt(be32(v, at)) : be64(v, at));
  const out: Array<{ address: bigint; size: bigint }> = [];
  for (let at = 0; at < p.value.length; at += w) {
    out.push({ address: read(at, addressCells), size: read(at + addressCells * 4, sizeCells) });
  }
  return out;
}

/** A string list property (NUL-separated, NUL-terminated). */
export function propStrings(node: FdtNode, name: string): string[] | undefined {
  const p = findProp(node, name);
  if (p === undefined) return undefined;
  if (p.value.length === 0 || p.value[p.value.length - 1] !== 0) throw bad(node, name, 'not a NUL-terminated string');
  return fromUtf8(p.value, p.value.length - 1).split('\0');
}

/**
 * `propString(node, name) === s` for an ASCII `s`, without decoding when the bytes match: the
 * cheap test run on every node of a big tree ("status" = "okay"). Throws as `propString` does.
 */
export function propIs(node: FdtNode, name: string, s: string): boolean {
  const v = findProp(node, name)?.value;
  if (v === undefined) return false;
  let same = v.length === s.length + 1 && v[s.length] === 0;
  for (let i = 0; same && i < s.length; i++) same = v[i] === s.charCodeAt(i);
  return same || propString(node, name) === s;
}

/** A single string property. */
export function propString(node: FdtNode, name: string): string | undefined {
  const list = propStrings(node, name);
  if (list === undefined) return undefined;
  if (list.length !== 1) throw bad(node, name, `expected one string, found ${list.length}`);
  return list[0];
}
