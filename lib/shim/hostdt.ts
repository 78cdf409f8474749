import { HclError, isHclError, type HclErrorCode } from '../errors.ts';
import { findNode, findProp, propCells, propIs, propReg, propString, propStrings, propU32, propU64 } from '../fdt/index.ts';
import type { Fdt, FdtNode } from '../fdt/index.ts';
import type { Plant } from '../plant.ts';
import { IGVM_MEMORY_TYPE, type Region } from '../abi/index.ts';

/**
 * The host device tree as the shim reads it (openhcl/host_fdt_parser `ParsedDeviceTree::parse`):
 * root children are matched by name (`cpus`, `openhcl`, `memory@…`, `chosen`, `intc@…`) and
 * otherwise by `compatible` (`simple-bus` holding the VMBus nodes, `x86-pio-bus` holding COM3 as
 * an "ns16550" child, `arm,sbsa-uart`). Where the real parser only logs, the model records a
 * warning. The SLIT travels in the parameter region (see slit.ts), not here.
 */
export interface HostDt {
  bootCpuidPhys: number;
  /** Enabled CPUs in VP order. */
  cpus: Array<{ reg: bigint; vnode: number }>;
  /** Partition memory, sorted by base, non-overlapping. */
  memory: Array<{ base: bigint; size: bigint; vnode: number; igvmType: number }>;
  bootargs: string;
  allocationMode: 'host' | 'vtl2';
  vtl2MemorySize?: bigint;
  vtl2MmioSize?: bigint;
  vtl0AliasMap?: bigint;
  entropy?: Uint8Array;
  /** `/openhcl/keep-alive` `device-types` is "nvme": the host supports NVMe keep-alive. */
  nvmeKeepAlive: boolean;
  deviceDmaPages?: bigint;
  vmbusVtl0: HostVmbus;
  vmbusVtl2: HostVmbus;
  /** COM3 as the kernel console: the x86 16550 at I/O port 0x3e8, or the first arm64 SBSA UART. */
  com3?: ComInfo;
  gic?: GicInfo;
  /** What the real parser accepts and only logs. */
  warnings: string[];
}

/** The console UART (host_fdt_parser `ComInfo`); `base` is the I/O port or MMIO address. */
export type ComInfo =
  | { kind: 'ns16550'; base: bigint; speed: number }
  | { kind: 'pl011'; base: bigint; intid: number; speed: number };

/** The GICv3 (host_fdt_parser `GicInfo`). */
export interface GicInfo {
  distributor: bigint;
  distributorSize: bigint;
  redistributors: bigint;
  redistributorsSize: bigint;
  redistributorStride: bigint;
}

/** One VMBus node: VTL, connection id and MMIO ranges (child = parent address). */
export interface HostVmbus {
  vtl: 0 | 2;
  connectionId: number;
  mmio: Region[];
}

/** Shim limits (openhcl_boot host_params/mod.rs). */
export const SHIM_LIMITS = {
  cpus: 2048, numaNodes: 64, cmdline: 0x2000, vtl2RamRanges: 64, partitionRamRanges: 1024, entropy: 256,
} as const;
/** COM3's x86 I/O port: its presence lets the shim write a console= argument. */
export const COM3_PORT = 0x3e8n;

const PAGE = 0x1000n;

// Runs `fn` and turns a malformed property (FDT_BAD_PROPERTY) into `code` naming the node path
// (a function when the path is built only for the message).
function at<T>(code: HclErrorCode, path: string | (() => string), fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isHclError(e, 'FDT_BAD_PROPERTY')) throw new HclError(code, `host device tree ${typeof path === 'string' ? path : path()}: ${e.message}`, { cause: e });
    throw e;
  }
}
function fail(code: HclErrorCode, path: string, why: string): never {
  throw new HclError(code, `host device tree ${path}: ${why}`);
}
function need<T>(v: T | undefined, code: HclErrorCode, path: string, name: string): T {
  if (v === undefined) fail(code, path, `missing property ${name}`);
  return v;
}
const hex = (n: bigint): string => `0x${n.toString(16)}`;

// The first `count` values of `bytes` bytes each, as the real parser's read_u32(i)/read_u64(i)
// reads them: bytes past the last value are ignored, a short property is an error.
function leading(n: FdtNode, path: string, name: string, code: HclErrorCode, count: number, bytes: 4 | 8): bigint[] {
  const v = need(findProp(n, name), code, path, name).value;
  if (v.length < count * bytes) fail(code, path, `${name} holds ${v.length} bytes, expected at least ${count * bytes}`);
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  return Array.from({ length: count }, (_, i) => (bytes === 8 ? dv.getBigUint64(i * 8) : BigInt(dv.getUint32(i * 4))));
}

/** Parses a host device tree; every violation is a SHIM_* error naming the node path. `plant`: tests only. */
export function parseHostDt(fdt: Fdt, plant?: Plant): HostDt {
  const root = fdt.root;
  const warnings: string[] = [];
  const cpus = parseCpus(root, warnings, plant);
  const memory = parseMemory(root, warnings);
  const chosen = findNode(root, '/chosen');
  const bootargs = chosen === undefined ? '' : at('SHIM_HOST_DT_INVALID', '/chosen', () => propString(chosen, 'bootargs')) ?? '';
  if (bootargs.length > SHIM_LIMITS.cmdline) fail('SHIM_CMDLINE_TOO_LONG', '/chosen', `bootargs of ${bootargs.length} bytes exceed ${SHIM_LIMITS.cmdline}`);
  const out: HostDt = {
    bootCpuidPhys: fdt.bootCpuidPhys, cpus, memory, bootargs, allocationMode: 'host', nvmeKeepAlive: false,
    ...parseVmbus(root), warnings,
  };
  // A missing /openhcl leaves the parser's default: host allocation mode.
  const openhcl = findNode(root, '/openhcl');
  if (openhcl !== undefined) parseOpenhcl(openhcl, out);
  parsePlatform(root, out);
  // The parser only stores boot_cpuid_phys (a 32-bit header field: the low half of an MPIDR).
  if (!cpus.some((c) => BigInt.asUintN(32, c.reg) === BigInt(fdt.bootCpuidPhys))) {
    warnings.push(`boot_cpuid_phys ${hex(BigInt(fdt.bootCpuidPhys))} is not an enabled cpu`);
  }
  checkMmio(out);
  return out;
}

const cpuPath = (c: FdtNode): string => `/cpus/${c.name}`;

function parseCpus(root: FdtNode, warnings: string[], plant: Plant | undefined): HostDt['cpus'] {
  const node = findNode(root, '/cpus') ?? fail('SHIM_CPUS_INVALID', '/cpus', 'node missing');
  const cells = at('SHIM_CPUS_INVALID', '/cpus', () => propU32(node, '#address-cells')) ?? 1;
  if (cells < 1 || cells > 2) fail('SHIM_CPUS_INVALID', '/cpus', `#address-cells ${cells} is not 1 or 2`);
  const cpus: HostDt['cpus'] = [];
  const seen = new Set<bigint>();
  // One node's checks, with its path built only for a message: 2048 cpus made a path string and
  // three closures each on every boot.
  const cpu = (c: FdtNode): void => {
    if (!propIs(c, 'status', 'okay')) {
      need(findProp(c, 'status'), 'SHIM_CPUS_INVALID', cpuPath(c), 'status');
      return;
    }
    const reg = need(propCells(c, 'reg', cells), 'SHIM_CPUS_INVALID', cpuPath(c), 'reg');
    if (reg.length !== 1) fail('SHIM_CPUS_INVALID', cpuPath(c), `reg holds ${reg.length} values, expected one of ${cells} cells`);
    const vnode = need(propU32(c, 'numa-node-id'), 'SHIM_CPUS_INVALID', cpuPath(c), 'numa-node-id');
    if (seen.has(reg[0]!)) warnings.push(`${cpuPath(c)}: reg ${hex(reg[0]!)} is used by an earlier cpu`);
    seen.add(reg[0]!);
    cpus.push({ reg: reg[0]!, vnode: plant === 'shim-ignores-vnode' && vnode === 1 ? 0 : vnode });
    if (cpus.length > SHIM_LIMITS.cpus) fail('SHIM_LIMIT_EXCEEDED', cpuPath(c), `more than ${SHIM_LIMITS.cpus} cpus`);
  };
  for (const c of node.children) at('SHIM_CPUS_INVALID', () => cpuPath(c), () => cpu(c));
  if (cpus.length === 0) fail('SHIM_CPUS_INVALID', '/cpus', 'no enabled cpu');
  const nodes = new Set(cpus.map((c) => c.vnode));
  if (nodes.size > SHIM_LIMITS.numaNodes) fail('SHIM_LIMIT_EXCEEDED', '/cpus', `${nodes.size} numa nodes exceed ${SHIM_LIMITS.numaNodes}`);
  return cpus;
}

function parseMemory(root: FdtNode, warnings: string[]): HostDt['memory'] {
  const memory: HostDt['memory'] = [];
  for (const m of root.children.filter((c) => c.name.startsWith('memory@'))) {
    const path = `/${m.name}`;
    const reg = need(at('SHIM_MEMORY_INVALID', path, () => propReg(m, 'reg', 2, 2)), 'SHIM_MEMORY_INVALID', path, 'reg');
    const vnode = need(at('SHIM_MEMORY_INVALID', path, () => propU32(m, 'numa-node-id')), 'SHIM_MEMORY_INVALID', path, 'numa-node-id');
    const igvmType = at('SHIM_MEMORY_INVALID', path, () => propU32(m, 'microsoft,igvm-type')) ?? IGVM_MEMORY_TYPE.MEMORY;
    if (igvmType > IGVM_MEMORY_TYPE.VTL2_PROTECTABLE) warnings.push(`${path}: microsoft,igvm-type ${igvmType} is not a type the shim knows`);
    for (const { address, size } of reg) {
      if (address % PAGE !== 0n || size % PAGE !== 0n) {
        fail('SHIM_MEMORY_INVALID', path, `range ${hex(address)}+${hex(size)} is not 4K-aligned`);
      }
      // An empty range describes no memory; the model drops it rather than keep a zero-size entry.
      if (size === 0n) { warnings.push(`${path}: empty range at ${hex(address)} ignored`); continue; }
      memory.push({ base: address, size, vnode, igvmType });
    }
    if (memory.length > SHIM_LIMITS.partitionRamRanges) fail('SHIM_LIMIT_EXCEEDED', path, `more than ${SHIM_LIMITS.partitionRamRanges} memory ranges`);
  }
  if (memory.length === 0) fail('SHIM_MEMORY_INVALID', '/', 'no memory node');
  memory.sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));
  for (let i = 1; i < memory.length; i++) {
    const p = memory[i - 1]!;
    const c = memory[i]!;
    if (p.base + p.size > c.base) {
      fail('SHIM_MEMORY_INVALID', `/memory@${c.base.toString(16)}`, `range ${hex(c.base)}+${hex(c.size)} overlaps ${hex(p.base)}+${hex(p.size)}`);
    }
  }
  return memory;
}

function parseOpenhcl(n: FdtNode, out: HostDt): void {
  const path = '/openhcl';
  const code = 'SHIM_OPENHCL_NODE_INVALID';
  const mode = need(at(code, path, () => propString(n, 'memory-allocation-mode')), code, path, 'memory-allocation-mode');
  if (mode !== 'host' && mode !== 'vtl2') fail(code, path, `memory-allocation-mode "${mode}" is not "host" or "vtl2"`);
  out.allocationMode = mode;
  if (mode === 'vtl2') {
    const ms = at(code, path, () => propU64(n, 'memory-size'));
    const mm = at(code, path, () => propU64(n, 'mmio-size'));
    if (ms !== undefined) out.vtl2MemorySize = ms;
    if (mm !== undefined) out.vtl2MmioSize = mm;
  }
  const alias = at(code, path, () => propU64(n, 'vtl0-alias-map'));
  if (alias !== undefined) out.vtl0AliasMap = alias;
  const entropy = findNode(n, 'entropy');
  if (entropy !== undefined) {
    const reg = need(findProp(entropy, 'reg'), code, `${path}/entropy`, 'reg');
    if (reg.value.length > SHIM_LIMITS.entropy) out.warnings.push(`${path}/entropy: ${reg.value.length} bytes truncated to ${SHIM_LIMITS.entropy}`);
    out.entropy = reg.value.slice(0, SHIM_LIMITS.entropy);
  }
  // keep-alive and device-dma are hints: a malformed or absent property means "not given".
  const hint = <T>(fn: () => T): T | undefined => { try { return fn(); } catch (e) { if (isHclError(e, 'FDT_BAD_PROPERTY')) return undefined; throw e; } };
  const keep = findNode(n, 'keep-alive');
  if (keep !== undefined) out.nvmeKeepAlive = hint(() => propStrings(keep, 'device-types'))?.[0] === 'nvme';
  const dma = findNode(n, 'device-dma');
  const pages = dma === undefined ? undefined : hint(() => propU64(dma, 'total-pages'));
  if (pages !== undefined) out.deviceDmaPages = pages;
}

// Root children the parser matches by name; every other node is matched by its `compatible`.
const byName = (n: FdtNode): boolean => ['cpus', 'openhcl', 'chosen'].includes(n.name) || n.name.startsWith('memory@') || n.name.startsWith('intc@');

// The first string of `compatible`, as the real parser's read_str compares it.
function compatible(n: FdtNode, path: string, code: HclErrorCode): string {
  return at(code, path, () => propStrings(n, 'compatible'))?.[0] ?? '';
}

function parseVmbus(root: FdtNode): { vmbusVtl0: HostVmbus; vmbusVtl2: HostVmbus } {
  const found: Partial<Record<0 | 2, HostVmbus>> = {};
  const code = 'SHIM_VMBUS_INVALID';
  for (const bus of root.children) {
    if (byName(bus)) continue;
    if (compatible(bus, `/${bus.name}`, 'SHIM_HOST_DT_INVALID') !== 'simple-bus') continue;
    const ranges = need(findProp(bus, 'ranges'), code, `/${bus.name}`, 'ranges');
    if (ranges.value.length !== 0) continue;
    for (const v of bus.children) {
      const path = `/${bus.name}/${v.name}`;
      if (compatible(v, path, code) !== 'microsoft,vmbus') continue;
      const vtl = need(at(code, path, () => propU32(v, 'microsoft,vtl')), code, path, 'microsoft,vtl');
      if (vtl !== 0 && vtl !== 2) fail(code, path, `microsoft,vtl ${vtl} is not 0 or 2`);
      const ac = need(at(code, path, () => propU32(v, '#address-cells')), code, path, '#address-cells');
      const sc = need(at(code, path, () => propU32(v, '#size-cells')), code, path, '#size-cells');
      if (ac !== 2 || sc !== 2) fail(code, path, `#address-cells/#size-cells ${ac}/${sc} must be 2/2`);
      // Whole (child, parent, size) triples count; trailing bytes are ignored as the real parser does.
      const n = Math.floor((findProp(v, 'ranges')?.value.length ?? 0) / 24);
      if (n > 2) fail(code, path, `${n} ranges, at most 2 allowed`);
      const triples = n === 0 ? [] : leading(v, path, 'ranges', code, n * 3, 8);
      const mmio: Region[] = [];
      for (let i = 0; i < triples.length; i += 3) {
        const [child, parent, size] = [triples[i]!, triples[i + 1]!, triples[i + 2]!];
        if (child !== parent) fail(code, path, `range ${i / 3}: child ${hex(child)} differs from parent ${hex(parent)}`);
        if (child % PAGE !== 0n || size % PAGE !== 0n) fail(code, path, `range ${i / 3}: ${hex(child)}+${hex(size)} is not page-aligned`);
        mmio.push({ gpa: child, size });
      }
      // The low gap may be described second; the parser swaps, then refuses overlap.
      if (mmio.length === 2 && mmio[0]!.gpa > mmio[1]!.gpa) mmio.reverse();
      if (mmio.length === 2 && mmio[0]!.gpa + mmio[0]!.size > mmio[1]!.gpa) fail(code, path, `ranges ${hex(mmio[0]!.gpa)}+${hex(mmio[0]!.size)} and ${hex(mmio[1]!.gpa)}+${hex(mmio[1]!.size)} overlap`);
      const connectionId = need(at(code, path, () => propU32(v, 'microsoft,message-connection-id')), code, path, 'microsoft,message-connection-id');
      if (found[vtl] !== undefined) fail(code, path, `second vmbus node for vtl ${vtl}`);
      found[vtl] = { vtl, connectionId, mmio };
    }
  }
  if (found[0] === undefined) fail(code, '/', 'no vmbus node for vtl 0');
  if (found[2] === undefined) fail(code, '/', 'no vmbus node for vtl 2');
  return { vmbusVtl0: found[0], vmbusVtl2: found[2] };
}

function parsePlatform(root: FdtNode, out: HostDt): void {
  const code = 'SHIM_HOST_DT_INVALID';
  const u32 = (n: FdtNode, path: string, name: string): number => need(at(code, path, () => propU32(n, name)), code, path, name);
  const u64 = (n: FdtNode, path: string, name: string, count: number): bigint[] => leading(n, path, name, code, count, 8);
  for (const n of root.children) {
    const path = `/${n.name}`;
    if (n.name.startsWith('intc@')) {
      const c = compatible(n, path, code);
      if (c !== 'arm,gic-v3') fail(code, path, `compatible "${c}" is not "arm,gic-v3"`);
      for (const [name, want] of [['#redistributor-regions', 1], ['#address-cells', 2], ['#size-cells', 2], ['#interrupt-cells', 3]] as const) {
        const v = u32(n, path, name);
        if (v !== want) fail(code, path, `${name} ${v} is not ${want}`);
      }
      const stride = u64(n, path, 'redistributor-stride', 1)[0]!;
      const [d, ds, r, rs] = u64(n, path, 'reg', 4) as [bigint, bigint, bigint, bigint];
      out.gic = { distributor: d, distributorSize: ds, redistributors: r, redistributorsSize: rs, redistributorStride: stride };
      continue;
    }
    if (byName(n)) continue;
    const c = compatible(n, path, code);
    if (c === 'x86-pio-bus') {
      for (const s of n.children) {
        const sp = `${path}/${s.name}`;
        const speed = u32(s, sp, 'current-speed');
        const base = u64(s, sp, 'reg', 2)[0]!;
        // Linux hard-codes COM3's port, so only an "ns16550" at 0x3e8 becomes the console.
        if (compatible(s, sp, code) === 'ns16550' && base === COM3_PORT) out.com3 = { kind: 'ns16550', base, speed };
      }
    } else if (c === 'arm,sbsa-uart') {
      const reg = leading(n, path, 'reg', code, 2, 4);
      const irq = leading(n, path, 'interrupts', code, 2, 4);
      const speed = u32(n, path, 'current-speed');
      // The parser reads cell 1 of each: the low half of a 2-cell address, the SPI number.
      if (out.com3 === undefined) out.com3 = { kind: 'pl011', base: reg[1]!, intid: Number(irq[1]!), speed };
      else out.warnings.push(`${path}: a second serial device is ignored`);
    }
  }
}

function checkMmio(h: HostDt): void {
  const overlaps = (a: Region, b: { gpa: bigint; size: bigint }): boolean => a.gpa < b.gpa + b.size && b.gpa < a.gpa + a.size;
  for (const [bus, other] of [[h.vmbusVtl0, h.vmbusVtl2], [h.vmbusVtl2, h.vmbusVtl0]] as const) {
    for (const r of bus.mmio) {
      const ram = h.memory.find((m) => overlaps(r, { gpa: m.base, size: m.size }));
      if (ram !== undefined) fail('SHIM_MMIO_INVALID', `vmbus vtl ${bus.vtl}`, `mmio ${hex(r.gpa)}+${hex(r.size)} overlaps ram ${hex(ram.base)}+${hex(ram.size)}`);
      const o = other.mmio.find((x) => overlaps(r, x));
      if (o !== undefined) fail('SHIM_MMIO_INVALID', `vmbus vtl ${bus.vtl}`, `mmio ${hex(r.gpa)}+${hex(r.size)} overlaps vtl ${other.vtl} mmio ${hex(o.gpa)}+${hex(o.size)}`);
    }
  }
}
