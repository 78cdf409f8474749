import { formatValue, propCells, propReg, propU32, readFdt, type FdtNode } from '../../lib/fdt/index.ts';

/**
 * Comparing the blob the model booted with the blob the real kernel reports in
 * /sys/firmware/fdt, minus exactly what qemu rewrites in a `-dtb` blob.
 */

/** One thing that differs between the model and the real kernel; values are readable text. */
export interface Difference {
  /** Where: a /proc or /sys path, or a device-tree path prefixed with "fdt:". */
  path: string;
  model: string;
  real: string;
  /** The comparison rule when it is not plain equality. */
  rule?: string;
}

/**
 * Everything qemu -M virt changes in a `-dtb` blob (qemu 7.2, shared/reference/real-kernel.md):
 * device-tree paths, `*` matching within one name. Nothing else may differ.
 */
export const QEMU_REWRITES: ReadonlyArray<{ path: string; why: string }> = [
  { path: '/memory', why: 'memory nodes are deleted and re-made from -m/-numa (checked separately)' },
  { path: '/memory@*', why: 'memory nodes are deleted and re-made from -m/-numa (checked separately)' },
  { path: '/psci', why: 'always re-made (method hvc, function ids)' },
  { path: '/chosen/linux,initrd-start', why: 'added for -initrd' },
  { path: '/chosen/linux,initrd-end', why: 'added for -initrd' },
];

const globs = QEMU_REWRITES.map(
  (r) => new RegExp(`^${r.path.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}(/.*)?$`),
);

/** True when qemu may have changed this device-tree path (a node, a property, or below one). */
export function isQemuRewritten(dtPath: string): boolean {
  return globs.some((g) => g.test(dtPath));
}

/** A property value as dtc would print it, without `=` and `;`. */
export function showValue(v: Uint8Array): string {
  const f = formatValue(v);
  return f === ';' ? '(empty)' : f.slice(3, -1);
}

const ABSENT = '(absent)';

function diffNode(path: string, model: FdtNode, real: FdtNode, out: Difference[]): void {
  const at = (name: string): string => (path === '/' ? `/${name}` : `${path}/${name}`);
  const names = new Set([...model.properties, ...real.properties].map((p) => p.name));
  for (const name of [...names].sort()) {
    if (isQemuRewritten(at(name))) continue;
    const m = model.properties.find((p) => p.name === name)?.value;
    const r = real.properties.find((p) => p.name === name)?.value;
    if (m !== undefined && r !== undefined && Buffer.from(m).equals(r)) continue;
    out.push({ path: `fdt:${at(name)}`, model: m === undefined ? ABSENT : showValue(m), real: r === undefined ? ABSENT : showValue(r) });
  }
  const kids = new Set([...model.children, ...real.children].map((c) => c.name));
  for (const name of [...kids].sort()) {
    if (isQemuRewritten(at(name))) continue;
    const m = model.children.find((c) => c.name === name);
    const r = real.children.find((c) => c.name === name);
    if (m !== undefined && r !== undefined) diffNode(at(name), m, r, out);
    else out.push({ path: `fdt:${at(name)}`, model: m === undefined ? ABSENT : 'node', real: r === undefined ? ABSENT : 'node' });
  }
}

/** RAM as `node N: base+size` lines from the root's memory nodes, sorted by base. */
export function memoryRanges(root: FdtNode): string[] {
  const ac = propU32(root, '#address-cells') ?? 2;
  const sc = propU32(root, '#size-cells') ?? 1;
  const out: Array<{ base: bigint; line: string }> = [];
  for (const n of root.children) {
    if (n.name !== 'memory' && !n.name.startsWith('memory@')) continue;
    const node = propCells(n, 'numa-node-id', 1)?.[0] ?? 0n;
    for (const { address, size } of propReg(n, 'reg', ac, sc) ?? []) {
      out.push({ base: address, line: `node ${node}: 0x${address.toString(16)}+0x${size.toString(16)}` });
    }
  }
  return out.sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0)).map((x) => x.line);
}

/** Bytes of RAM per NUMA node as described by the memory nodes. */
export function memoryPerNode(root: FdtNode): Map<number, bigint> {
  const out = new Map<number, bigint>();
  for (const line of memoryRanges(root)) {
    const m = /^node (\d+): 0x[0-9a-f]+\+0x([0-9a-f]+)$/.exec(line) as RegExpExecArray;
    out.set(Number(m[1]), (out.get(Number(m[1])) ?? 0n) + BigInt(`0x${m[2]}`));
  }
  return out;
}

/** qemu -M virt's fixed RAM base. */
export const VIRT_RAM_BASE = 0x4000_0000n;

/** How memory ranges are compared, given that qemu re-makes the memory nodes. */
export const MEMORY_LAYOUT_RULE =
  'qemu re-makes memory nodes from -numa, laying each node\'s RAM out from 0x40000000 in node order: the model DTB\'s RAM per node, laid out that way, must equal the real ranges (base addresses themselves cannot be checked on -M virt)';

/** Where qemu puts RAM of these per-node sizes: contiguous from VIRT_RAM_BASE in node order, as `node N: base+size`. */
export function virtLayout(perNode: ReadonlyMap<number, bigint>): string[] {
  let at = VIRT_RAM_BASE;
  return [...perNode.entries()]
    .filter(([, size]) => size > 0n)
    .sort(([a], [b]) => a - b)
    .map(([node, size]) => {
      const line = `node ${node}: 0x${at.toString(16)}+0x${size.toString(16)}`;
      at += size;
      return line;
    });
}

/**
 * Differences between the model's DTB and the real /sys/firmware/fdt: header fields, every node
 * and property not in QEMU_REWRITES, and the memory ranges qemu re-made from -numa.
 */
export function diffFdt(modelDtb: Uint8Array, realDtb: Uint8Array): Difference[] {
  const model = readFdt(modelDtb);
  const real = readFdt(realDtb);
  const out: Difference[] = [];
  if (model.bootCpuidPhys !== real.bootCpuidPhys) {
    out.push({ path: 'fdt:header/boot_cpuid_phys', model: `${model.bootCpuidPhys}`, real: `${real.bootCpuidPhys}` });
  }
  const rsv = (f: typeof model): string => f.reservations.map((r) => `0x${r.address.toString(16)}+0x${r.size.toString(16)}`).join(', ') || '(none)';
  if (rsv(model) !== rsv(real)) out.push({ path: 'fdt:memreserve', model: rsv(model), real: rsv(real) });
  const mm = virtLayout(memoryPerNode(model.root)).join('; ');
  const rm = memoryRanges(real.root).join('; ');
  if (mm !== rm) out.push({ path: 'fdt:/memory@*', model: mm || ABSENT, real: rm || ABSENT, rule: MEMORY_LAYOUT_RULE });
  diffNode('/', model.root, real.root, out);
  return out;
}
