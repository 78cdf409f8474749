import { ByteReader } from '../bytes/index.ts';
import { HclError } from '../errors.ts';
import type { Fdt, FdtNode, FdtProperty, FdtReadOptions, FdtReservation } from './types.ts';

/** The header magic (devicetree specification 5.2). */
export const FDT_MAGIC = 0xd00dfeed;
/** Size of the version 17 header in bytes. */
export const FDT_HEADER_SIZE = 40;
/** The version this model writes and the oldest version whose layout it reads. */
export const FDT_VERSION = 17;
export const FDT_LAST_COMP_VERSION = 16;

/** Structure block tokens (devicetree specification 5.4.1). */
export const FDT_TOKEN = { BEGIN_NODE: 1, END_NODE: 2, PROP: 3, NOP: 4, END: 9 } as const;

/** Reader limits: depth as Linux's unflattener (FDT_MAX_DEPTH 64), size well above any real DTB. */
export const DEFAULT_FDT_LIMITS: Readonly<FdtReadOptions> = Object.freeze({
  maxDepth: 64,
  maxTotalSize: 32 * 1024 * 1024,
});

const hex = (n: number): string => `0x${n.toString(16)}`;
const EMPTY = new Uint8Array(0);

/** The header fields, validated against the blob; block ends are exclusive offsets. */
interface Layout {
  totalSize: number;
  structStart: number;
  structEnd: number;
  stringsStart: number;
  stringsEnd: number;
  rsvStart: number;
  bootCpuidPhys: number;
}

function readHeader(bytes: Uint8Array, limits: FdtReadOptions): Layout {
  const r = new ByteReader(bytes, 'fdt header', 'FDT_TRUNCATED', limits.plant);
  const magic = r.u32be();
  if (magic !== FDT_MAGIC) throw new HclError('FDT_BAD_MAGIC', `fdt header: bad magic ${hex(magic)} (expected 0xd00dfeed)`);
  const totalSize = r.u32be();
  const offStruct = r.u32be();
  const offStrings = r.u32be();
  const offRsv = r.u32be();
  const version = r.u32be();
  const lastComp = r.u32be();
  const bootCpuidPhys = r.u32be();
  const sizeStrings = r.u32be();
  if (version < FDT_LAST_COMP_VERSION || lastComp > FDT_VERSION) {
    throw new HclError('FDT_BAD_VERSION', `fdt header: version ${version} (last compatible ${lastComp}) is not readable; need version >= 16 and last compatible <= 17`);
  }
  const headerSize = version >= 17 ? FDT_HEADER_SIZE : 36;
  const sizeStruct = version >= 17 ? r.u32be() : undefined;
  if (totalSize > limits.maxTotalSize) {
    throw new HclError('FDT_TOO_LARGE', `fdt header: totalsize ${totalSize} exceeds the limit of ${limits.maxTotalSize} bytes`);
  }
  if (totalSize < headerSize) throw new HclError('FDT_BAD_HEADER', `fdt header: totalsize ${totalSize} is smaller than the ${headerSize}-byte header`);
  if (totalSize > bytes.length) {
    throw new HclError('FDT_TRUNCATED', `fdt header: totalsize ${totalSize} is past the end of the ${bytes.length}-byte input`);
  }
  const block = (what: string, off: number, size: number, align: number): void => {
    if (off < headerSize || off % align !== 0 || off + size > totalSize) {
      throw new HclError('FDT_BAD_HEADER', `fdt header: ${what} block at ${hex(off)} size ${size} does not fit in totalsize ${totalSize} (or is misaligned)`);
    }
  };
  block('memory reservation', offRsv, 16, 8);
  block('structure', offStruct, sizeStruct ?? 0, 4);
  block('strings', offStrings, sizeStrings, 1);
  return {
    totalSize,
    structStart: offStruct,
    structEnd: offStruct + (sizeStruct ?? totalSize - offStruct),
    stringsStart: offStrings,
    stringsEnd: offStrings + sizeStrings,
    rsvStart: offRsv,
    bootCpuidPhys,
  };
}

function readReservations(bytes: Uint8Array, l: Layout, limits: FdtReadOptions): FdtReservation[] {
  const r = new ByteReader(bytes.subarray(l.rsvStart, l.totalSize), 'fdt memory reservation block', 'FDT_BAD_STRUCTURE', limits.plant);
  const out: FdtReservation[] = [];
  for (;;) {
    const address = r.u64be();
    const size = r.u64be();
    if (address === 0n && size === 0n) return out;
    out.push({ address, size });
  }
}

/** Property names come from the strings block; a name must end inside it. */
function stringAt(bytes: Uint8Array, l: Layout, off: number, at: number): string {
  const start = l.stringsStart + off;
  const end = off < l.stringsEnd - l.stringsStart ? bytes.subarray(start, l.stringsEnd).indexOf(0) : -1;
  if (end < 0) {
    throw new HclError('FDT_BAD_STRUCTURE', `fdt structure at ${hex(at)}: property name offset ${off} is outside the strings block or unterminated`);
  }
  return latin1(bytes.subarray(start, start + end));
}

// Names are ASCII by the specification; latin1 keeps any other byte one char so nothing is lost.
// Chunked so a long name never exceeds the engine's argument limit.
function latin1(b: Uint8Array): string {
  if (b.length <= 4096) return String.fromCharCode.apply(null, b as unknown as number[]);
  let s = '';
  for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode.apply(null, b.subarray(i, i + 4096) as unknown as number[]);
  return s;
}

function readStructure(bytes: Uint8Array, l: Layout, limits: FdtReadOptions): FdtNode {
  // Reads are inline on `pos` (a reader call per token dominated big trees); a read that would
  // pass the block's end is handed to the ByteReader at the same offset, which throws its error.
  const r = new ByteReader(bytes.subarray(0, l.structEnd), 'fdt structure block', 'FDT_BAD_STRUCTURE', limits.plant);
  r.seek(l.structStart);
  const end = l.structEnd;
  let pos = l.structStart;
  const u32 = (): number => {
    if (pos + 4 > end) r.seek(pos).u32be();
    const v = ((bytes[pos]! << 24) | (bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!) >>> 0;
    pos += 4;
    return v;
  };
  const take = (n: number): number => {
    if (pos + n > end) r.seek(pos).skip(n);
    const at = pos;
    pos += n;
    return at;
  };
  const align4 = (): void => {
    const next = (pos + 3) & ~3;
    if (next > end) r.seek(pos).align(4);
    pos = next;
  };
  const bad = (why: string, at = pos): HclError => new HclError('FDT_BAD_STRUCTURE', `fdt structure at ${hex(at)}: ${why}`);
  const stack: FdtNode[] = [];
  // Every node repeats the same few property names: decode each strings-block offset once.
  const names = new Map<number, string>();
  let root: FdtNode | undefined;
  for (;;) {
    const at = pos;
    const token = u32();
    const top = stack[stack.length - 1];
    switch (token) {
      case FDT_TOKEN.BEGIN_NODE: {
        const nul = bytes.indexOf(0, pos);
        if (nul < 0 || nul >= end) throw bad('node name runs past the end of the structure block', pos);
        const name = latin1(bytes.subarray(take(nul - pos), nul));
        take(1);
        align4();
        if (top === undefined) {
          if (root !== undefined) throw bad('second root node');
          if (name !== '') throw bad(`root node name must be empty, found "${name}"`, at);
        } else if (name === '') throw bad('empty node name', at);
        if (stack.length >= limits.maxDepth) {
          throw new HclError('FDT_TOO_DEEP', `fdt structure at ${hex(at)}: nesting deeper than ${limits.maxDepth} nodes`);
        }
        const node: FdtNode = { name, properties: [], children: [] };
        if (top === undefined) root = node;
        else top.children.push(node);
        stack.push(node);
        break;
      }
      case FDT_TOKEN.END_NODE:
        if (top === undefined) throw bad('END_NODE outside any node', at);
        stack.pop();
        break;
      case FDT_TOKEN.PROP: {
        if (top === undefined) throw bad('property outside any node', at);
        if (top.children.length > 0) throw bad(`property after a child node in "${top.name || '/'}"`, at);
        const len = u32();
        const nameOff = u32();
        let name = names.get(nameOff);
        if (name === undefined) names.set(nameOff, (name = stringAt(bytes, l, nameOff, at)));
        const from = take(len);
        // A view, not a copy: a copy costs a whole ArrayBuffer per property, which let a blob of
        // empty properties decode to 20 times its size. Zero-length values share one (immutable) view.
        const value = len === 0 ? EMPTY : bytes.subarray(from, from + len);
        align4();
        top.properties.push({ name, value } satisfies FdtProperty);
        break;
      }
      case FDT_TOKEN.NOP:
        break;
      case FDT_TOKEN.END:
        if (root === undefined) throw bad('END before the root node', at);
        if (top !== undefined) throw bad(`END inside node "${top.name || '/'}"`, at);
        return root;
      default:
        throw bad(`unknown token ${hex(token)}`, at);
    }
  }
}

/**
 * Parses a device tree blob (DTB version 16 or 17). Every offset and length is checked against
 * the blob before use; any bad input gives an HclError with an FDT_* code. Property values are
 * views of `bytes` (copy one before changing it in place).
 */
export function readFdt(bytes: Uint8Array, options: Partial<FdtReadOptions> = {}): Fdt {
  const limits: FdtReadOptions = { ...DEFAULT_FDT_LIMITS, ...options };
  const layout = readHeader(bytes, limits);
  const reservations = readReservations(bytes, layout, limits);
  const root = readStructure(bytes, layout, limits);
  return { bootCpuidPhys: layout.bootCpuidPhys, reservations, root };
}
