import { ByteWriter } from '../bytes/index.ts';
import { HclError } from '../errors.ts';
import { FDT_HEADER_SIZE, FDT_LAST_COMP_VERSION, FDT_MAGIC, FDT_TOKEN, FDT_VERSION } from './reader.ts';
import type { FdtNode, FdtProperty, FdtReservation } from './types.ts';

// Name characters as dtc's checks accept them (devicetree specification 2.2.1 and 2.2.4, plus
// the '*', '#', '?' dtc allows); a node name has at most one '@' unit-address separator.
const NODE_NAME = /^[A-Za-z0-9,._+*#?-]+(@[A-Za-z0-9,._+*#?-]*)?$/;
const PROP_NAME = /^[A-Za-z0-9,._+*#?-]+$/;

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
  // Names are checked ASCII; the strings table keeps one byte per char as dtc does.
  bytes(): Uint8Array {
    const out = new Uint8Array(this.#text.length);
    for (let i = 0; i < this.#text.length; i++) out[i] = this.#text.charCodeAt(i);
    return out;
  }
}

const align4 = (n: number): number => (n + 3) & ~3;

// True when `name` is among the first `n` entries of `list`.
function repeats(list: readonly string[], n: number, name: string): boolean {
  for (let i = 0; i < n; i++) if (list[i] === name) return true;
  return false;
}

/**
 * One open node: its name, its first `nprops` entries of `props` as the property names so far
 * (a Set too once it has many), how many children it has, the first one's name and, from the
 * second on, a Set of them all.
 */
interface Frame {
  name: string; props: string[]; nprops: number; propSet: Set<string> | undefined;
  kids: number; firstKid: string; kidSet: Set<string> | undefined;
}

/**
 * Writes a DTB node by node, as libfdt's sequential-write mode and OpenHCL's `fdt::builder`
 * do: `begin(name)`, its properties, its children, `end()`, then `finish`. Names are checked as
 * dtc checks them and duplicates refused (FDT_INVALID_TREE naming the node's path), in the order
 * a depth-first walk meets them. Output is laid out as dtc lays it out (see `writeFdt`).
 */
export class FdtBuilder {
  #buf: Uint8Array;
  #pos = 0;
  readonly #strings = new StringTable();
  readonly #stack: Frame[] = [];
  // Frames by depth, reused: a frame per node was three objects for each of 2048 cpu nodes.
  readonly #frames: Frame[] = [];
  // Thousands of nodes repeat a handful of property names: each is matched once per tree.
  readonly #goodNames = new Set<string>();
  #done = false;
  #finished = false;

  /** `capacity`: the structure block's expected size in bytes; a bigger block grows the buffer by doubling. */
  constructor(capacity = 64 * 1024) {
    this.#buf = new Uint8Array(Math.max(1024, capacity));
  }

  // Reserves `n` bytes and returns their offset; the buffer at least doubles when it must grow.
  #room(n: number): number {
    const at = this.#pos;
    this.#pos += n;
    if (this.#pos > this.#buf.length) {
      const next = new Uint8Array(Math.max(2 * this.#buf.length, this.#pos));
      next.set(this.#buf.subarray(0, at));
      this.#buf = next;
    }
    return at;
  }

  #u32(v: number): void {
    const at = this.#room(4);
    const b = this.#buf;
    b[at] = v >>> 24;
    b[at + 1] = v >>> 16;
    b[at + 2] = v >>> 8;
    b[at + 3] = v;
  }

  // The path of the open node (or of a child named `child`), built only for a message.
  #path(child?: string): string {
    const names = this.#stack.slice(1).map((f) => f.name);
    if (child !== undefined) names.push(child);
    return `/${names.join('/')}`;
  }

  #invalid(path: string, why: string): HclError {
    return new HclError('FDT_INVALID_TREE', `fdt tree: ${path}: ${why}`);
  }

  #top(what: string): Frame {
    const top = this.#stack[this.#stack.length - 1];
    if (top === undefined || this.#done) throw new TypeError(`fdt builder: ${what} outside any node`);
    return top;
  }

  /** Opens a node (the root, named "", first); its properties must come before its children. */
  begin(name: string): this {
    const parent = this.#stack[this.#stack.length - 1];
    if (parent === undefined) {
      if (this.#done || this.#pos > 0) throw new TypeError('fdt builder: a second root node');
      if (name !== '') throw this.#invalid('/', `root node name must be empty, found "${name}"`);
    } else {
      if (parent.kids === 0) parent.firstKid = name;
      else {
        parent.kidSet ??= new Set([parent.firstKid]);
        if (parent.kidSet.has(name)) throw this.#invalid(this.#path(), `duplicate child node "${name}"`);
        parent.kidSet.add(name);
      }
      parent.kids++;
      if (!NODE_NAME.test(name)) throw this.#invalid(this.#path(name), `bad node name "${name}"`);
    }
    let frame = this.#frames[this.#stack.length];
    if (frame === undefined) this.#frames.push((frame = { name, props: [], nprops: 0, propSet: undefined, kids: 0, firstKid: '', kidSet: undefined }));
    else {
      frame.name = name;
      frame.nprops = frame.kids = 0;
      frame.propSet = frame.kidSet = undefined;
    }
    this.#stack.push(frame);
    this.#u32(FDT_TOKEN.BEGIN_NODE);
    const at = this.#room(align4(name.length + 1));
    // Padding stays zero: the buffer starts zeroed and every byte is written once.
    for (let i = 0; i < name.length; i++) this.#buf[at + i] = name.charCodeAt(i);
    return this;
  }

  // Checks a property of `len` bytes for the open node and writes its header; returns where its value goes.
  #propHead(name: string, len: number): number {
    const top = this.#top('property');
    if (top.kids > 0) throw new TypeError(`fdt builder: property "${name}" after a child node of ${this.#path()}`);
    if (!this.#goodNames.has(name)) {
      if (!PROP_NAME.test(name)) throw this.#invalid(this.#path(), `bad property name "${name}"`);
      this.#goodNames.add(name);
    }
    // A node's few properties are compared pairwise; a Set only for a node with many.
    if (top.nprops >= 8) top.propSet ??= new Set(top.props.slice(0, top.nprops));
    if (top.propSet !== undefined ? top.propSet.has(name) : repeats(top.props, top.nprops, name)) throw this.#invalid(this.#path(), `duplicate property "${name}"`);
    top.props[top.nprops++] = name;
    top.propSet?.add(name);
    if (len > 0xffff_ffff) throw this.#invalid(this.#path(), `property "${name}" is too large`);
    this.#u32(FDT_TOKEN.PROP);
    this.#u32(len);
    this.#u32(this.#strings.offset(name));
    return this.#room(align4(len));
  }

  /** Adds a property to the open node. */
  prop(name: string, value: Uint8Array): this {
    const at = this.#propHead(name, value.length); // first: it may replace the buffer
    this.#buf.set(value, at);
    return this;
  }

  /** Adds a one-cell property (`prop.u32(name, v)`'s bytes, with no array made for them). */
  u32(name: string, v: number): this {
    this.#pos = this.#propHead(name, 4);
    this.#u32(v >>> 0);
    return this;
  }

  /** Adds a two-cell property (`prop.u64(name, v)`'s bytes). */
  u64(name: string, v: bigint): this {
    const u = BigInt.asUintN(64, v);
    this.#pos = this.#propHead(name, 8);
    this.#u32(Number(u >> 32n));
    this.#u32(Number(u & 0xffff_ffffn));
    return this;
  }

  /** Adds several properties (`FdtProperty` values, as the `prop` constructors make them). */
  props(list: readonly FdtProperty[]): this {
    for (const p of list) this.prop(p.name, p.value);
    return this;
  }

  /** Closes the open node. */
  end(): this {
    this.#top('end');
    this.#stack.pop();
    this.#u32(FDT_TOKEN.END_NODE);
    if (this.#stack.length === 0) this.#done = true;
    return this;
  }

  /** Writes a whole node of a tree, children and all, into the open node (or as the root). */
  node(n: FdtNode): this {
    this.begin(n.name);
    for (const p of n.properties) this.prop(p.name, p.value);
    for (const c of n.children) this.node(c);
    return this.end();
  }

  /**
   * The DTB: 40-byte version 17 header, memory reservation block, structure block, strings block,
   * no padding. FDT_INVALID_TREE for a boot CPU id that is no u32 and for reservations that are
   * not u64 pairs or would end the block early.
   */
  finish(bootCpuidPhys: number, reservations: readonly FdtReservation[]): Uint8Array {
    if (this.#finished) throw new TypeError('fdt builder: finished already');
    if (!this.#done) throw new TypeError(`fdt builder: finish with ${this.#stack.length === 0 ? 'no root node' : `${this.#path()} still open`}`);
    if (!Number.isInteger(bootCpuidPhys) || bootCpuidPhys < 0 || bootCpuidPhys > 0xffff_ffff) {
      throw this.#invalid('/', `boot_cpuid_phys ${bootCpuidPhys} is not a u32`);
    }
    const rsv = new ByteWriter(16 * (reservations.length + 1));
    for (const r of reservations) {
      if (r.address < 0n || r.address >= 1n << 64n || r.size < 0n || r.size >= 1n << 64n) {
        throw this.#invalid('/', `memory reservation ${r.address}+${r.size} is not a pair of u64`);
      }
      if (r.address === 0n && r.size === 0n) throw this.#invalid('/', 'memory reservation 0+0 would end the reservation block');
      rsv.u64be(r.address).u64be(r.size);
    }
    rsv.u64be(0).u64be(0);
    this.#finished = true;
    this.#u32(FDT_TOKEN.END);
    const rsvBytes = rsv.finish();
    const structBytes = this.#buf.subarray(0, this.#pos);
    const stringBytes = this.#strings.bytes();
    const offRsv = FDT_HEADER_SIZE; // already 8-aligned, as dtc computes ALIGN(header, 8)
    const offStruct = offRsv + rsvBytes.length;
    const offStrings = offStruct + structBytes.length;
    const total = offStrings + stringBytes.length;
    return new ByteWriter(total)
      .u32be(FDT_MAGIC).u32be(total).u32be(offStruct).u32be(offStrings).u32be(offRsv)
      .u32be(FDT_VERSION).u32be(FDT_LAST_COMP_VERSION).u32be(bootCpuidPhys)
      .u32be(stringBytes.length).u32be(structBytes.length)
      .bytes(rsvBytes).bytes(structBytes).bytes(stringBytes)
      .finish();
  }
}
