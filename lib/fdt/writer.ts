import { ByteWriter } from '../bytes/index.ts';
import { HclError } from '../errors.ts';
import { FDT_HEADER_SIZE, FDT_LAST_COMP_VERSION, FDT_MAGIC, FDT_TOKEN, FDT_VERSION } from './reader.ts';
import type { Fdt, FdtNode } from './types.ts';

// Name characters as dtc's checks accept them (devicetree specification 2.2.1 and 2.2.4, plus
// the '*', '#', '?' dtc allows); a node name has at most one '@' unit-address separator.
const NODE_NAME = /^[A-Za-z0-9,._+*#?-]+(@[A-Za-z0-9,._+*#?-]*)?$/;
const PROP_NAME = /^[A-Za-z0-9,._+*#?-]+$/;

function invalid(path: string, why: string): HclError {
  return new HclError('FDT_INVALID_TREE', `fdt tree: ${path}: ${why}`);
}

function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

/** Throws FDT_INVALID_TREE for names no DTB may hold and for duplicates dtc rejects. */
function validate(node: FdtNode, path: string, depth: number, goodNames = new Set<string>()): void {
  if (depth === 0 && node.name !== '') throw invalid(path, `root node name must be empty, found "${node.name}"`);
  if (depth > 0 && !NODE_NAME.test(node.name)) throw invalid(path, `bad node name "${node.name}"`);
  // Thousands of nodes repeat a handful of property names: each is matched once per tree, and
  // a node's few properties are compared pairwise rather than through a Set per node.
  const props = node.properties;
  const seen = props.length > 8 ? new Set<string>() : undefined;
  for (let i = 0; i < props.length; i++) {
    const p = props[i]!;
    if (!goodNames.has(p.name)) {
      if (!PROP_NAME.test(p.name)) throw invalid(path, `bad property name "${p.name}"`);
      goodNames.add(p.name);
    }
    if (seen !== undefined ? seen.has(p.name) : repeats(props, i)) throw invalid(path, `duplicate property "${p.name}"`);
    seen?.add(p.name);
    if (p.value.length > 0xffff_ffff) throw invalid(path, `property "${p.name}" is too large`);
  }
  const kids = node.children.length > 1 ? new Set<string>() : undefined;
  for (const c of node.children) {
    if (kids !== undefined) {
      if (kids.has(c.name)) throw invalid(path, `duplicate child node "${c.name}"`);
      kids.add(c.name);
    }
    validate(c, childPath(path, c.name), depth + 1, goodNames);
  }
}

// True when entry `i` repeats the name of an earlier entry.
function repeats(list: ReadonlyArray<{ name: string }>, i: number): boolean {
  for (let j = 0; j < i; j++) if (list[j]!.name === list[i]!.name) return true;
  return false;
}

/**
 * dtc's strings table: names in order of first use, and a name that already appears as a
 * NUL-terminated suffix of an earlier string reuses it ("phandle" inside "linux,phandle").
 */
class StringTable {
  #text = '';
  // Names repeat on every node (2048 cpu nodes carry the same four), so remember each answer.
  readonly #offsets = new Map<string, number>();
  offset(name: string): number {
    const known = this.#offsets.get(name);
    if (known !== undefined) return known;
    let at = this.#text.indexOf(`${name}\0`);
    if (at < 0) {
      at = this.#text.length;
      this.#text += `${name}\0`;
    }
    this.#offsets.set(name, at);
    return at;
  }
  bytes(): Uint8Array {
    return ascii(this.#text);
  }
}

// Names are checked ASCII by `validate`; the strings table keeps one byte per char as dtc does.
function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

const align4 = (n: number): number => (n + 3) & ~3;

// Writers are sized exactly up front so they never grow (and the output is built in one pass).
function structSize(node: FdtNode): number {
  let n = 8 + align4(node.name.length + 1);
  for (const p of node.properties) n += 12 + align4(p.value.length);
  for (const c of node.children) n += structSize(c);
  return n;
}

// The structure block is sized exactly, so nodes go straight into it: a checked writer call per
// token and per padding byte was most of the cost of a 2048-cpu tree. Padding stays zero.
class StructBlock {
  readonly bytes: Uint8Array;
  #pos = 0;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
  }
  u32(v: number): void {
    const b = this.bytes;
    const at = this.#pos;
    b[at] = v >>> 24;
    b[at + 1] = v >>> 16;
    b[at + 2] = v >>> 8;
    b[at + 3] = v;
    this.#pos = at + 4;
  }
  name(s: string): void {
    for (let i = 0; i < s.length; i++) this.bytes[this.#pos + i] = s.charCodeAt(i);
    this.#pos += align4(s.length + 1);
  }
  data(v: Uint8Array): void {
    this.bytes.set(v, this.#pos);
    this.#pos += align4(v.length);
  }
}

function writeNode(w: StructBlock, strings: StringTable, node: FdtNode): void {
  w.u32(FDT_TOKEN.BEGIN_NODE);
  w.name(node.name);
  for (const p of node.properties) {
    w.u32(FDT_TOKEN.PROP);
    w.u32(p.value.length);
    w.u32(strings.offset(p.name));
    w.data(p.value);
  }
  for (const c of node.children) writeNode(w, strings, c);
  w.u32(FDT_TOKEN.END_NODE);
}

/**
 * Encodes a tree as a version 17 DTB laid out as dtc lays it out: 40-byte header, memory
 * reservation block, structure block, strings block, no padding. Deterministic; a tree read by
 * `readFdt` writes back to the same bytes when the blob came from dtc or from this writer.
 */
export function writeFdt(fdt: Fdt): Uint8Array {
  validate(fdt.root, '/', 0);
  if (!Number.isInteger(fdt.bootCpuidPhys) || fdt.bootCpuidPhys < 0 || fdt.bootCpuidPhys > 0xffff_ffff) {
    throw invalid('/', `boot_cpuid_phys ${fdt.bootCpuidPhys} is not a u32`);
  }
  const rsv = new ByteWriter(16 * (fdt.reservations.length + 1));
  for (const r of fdt.reservations) {
    if (r.address < 0n || r.address >= 1n << 64n || r.size < 0n || r.size >= 1n << 64n) {
      throw invalid('/', `memory reservation ${r.address}+${r.size} is not a pair of u64`);
    }
    if (r.address === 0n && r.size === 0n) throw invalid('/', 'memory reservation 0+0 would end the reservation block');
    rsv.u64be(r.address).u64be(r.size);
  }
  rsv.u64be(0).u64be(0);
  const strings = new StringTable();
  const struct = new StructBlock(structSize(fdt.root) + 4);
  writeNode(struct, strings, fdt.root);
  struct.u32(FDT_TOKEN.END);
  const rsvBytes = rsv.finish();
  const structBytes = struct.bytes;
  const stringBytes = strings.bytes();
  const offRsv = FDT_HEADER_SIZE; // already 8-aligned, as dtc computes ALIGN(header, 8)
  const offStruct = offRsv + rsvBytes.length;
  const offStrings = offStruct + structBytes.length;
  const total = offStrings + stringBytes.length;
  return new ByteWriter(total)
    .u32be(FDT_MAGIC).u32be(total).u32be(offStruct).u32be(offStrings).u32be(offRsv)
    .u32be(FDT_VERSION).u32be(FDT_LAST_COMP_VERSION).u32be(fdt.bootCpuidPhys)
    .u32be(stringBytes.length).u32be(structBytes.length)
    .bytes(rsvBytes).bytes(structBytes).bytes(stringBytes)
    .finish();
}
