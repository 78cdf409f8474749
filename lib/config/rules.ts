import type { VmConfig } from './schema.ts';
import { vtl2MmioCarve } from './derive.ts';

/** One invalid field: its JSON path (`vps[3].vnode`) and what is wrong with it. */
export interface ConfigFieldError {
  path: string;
  message: string;
}

// Semantic rules for a VmConfig whose shape already holds. Each rule pushes every violation it
// finds (never stops at the first) so one CONFIG_INVALID lists them all. Limits and invariants
// come from openhcl_boot host_params (2048 CPUs, 64 nodes, 256 bytes entropy), vm_topology
// (sorted non-overlapping RAM, VTL2 above RAM, APIC IDs) and Linux's SLIT check.

const PAGE = 4096;
/** Where RAM starts on qemu `-M virt` (aarch64); everything below is platform devices and PCIe MMIO. */
export const AARCH64_RAM_BASE = 0x4000_0000;
/** GICv3 redistributor frames per VP (RD_base + SGI_base, 64 KiB each). */
export const GICR_STRIDE = 0x2_0000;
const GICD_SIZE = 0x1_0000;
const PL011_SIZE = 0x1000;
/** xAPIC IDs are 8 bits and 0xff is broadcast; larger IDs need x2APIC. */
const XAPIC_MAX_ID = 254;
/** The model enables x2APIC only for VMs that cannot be numbered with xAPIC IDs. */
const X2APIC_VP_THRESHOLD = 255;
const MAX_ENTROPY_BYTES = 256;
const MAX_STATIC_CMDLINE_BYTES = 4092;

interface Span {
  path: string;
  base: number;
  end: number;
  what: string;
}

const hex = (n: number): string => `0x${n.toString(16)}`;
const overlaps = (a: Span, b: Span): boolean => a.base < b.end && b.base < a.end;

/** Every semantic problem of a well-shaped config, in field order. */
export function semanticErrors(c: VmConfig): ConfigFieldError[] {
  const errs: ConfigFieldError[] = [];
  const err = (path: string, message: string): void => void errs.push({ path, message });
  const ram = checkRam(c, err);
  checkVps(c, err);
  checkDistances(c, err);
  checkVtl2(c, ram, err);
  checkMmio(c, ram, err);
  checkArch(c, ram, err);
  checkDevices(c, err);
  const entropyBytes = c.entropy.length / 2;
  if (entropyBytes > MAX_ENTROPY_BYTES) err('entropy', `${entropyBytes} bytes, at most ${MAX_ENTROPY_BYTES}`);
  const staticBytes = new TextEncoder().encode(c.cmdline.static).length;
  if (staticBytes > MAX_STATIC_CMDLINE_BYTES) {
    err('cmdline.static', `${staticBytes} bytes of UTF-8, the command line page holds ${MAX_STATIC_CMDLINE_BYTES}`);
  }
  return errs.sort((a, b) => a.path.localeCompare(b.path, 'en', { numeric: true }));
}

type Err = (path: string, message: string) => void;

function alignment(path: string, base: number, size: number, err: Err): boolean {
  let ok = true;
  if (base % PAGE !== 0) (ok = false), err(`${path}.base`, `${hex(base)} is not 4K-aligned`);
  if (size === 0) (ok = false), err(`${path}.size`, 'range is empty');
  else if (size % PAGE !== 0) (ok = false), err(`${path}.size`, `${hex(size)} is not a multiple of 4K`);
  return ok;
}

/** RAM ranges: aligned, non-empty, sorted within a node, no overlap across nodes. Returns all spans. */
function checkRam(c: VmConfig, err: Err): Span[] {
  const spans: Span[] = [];
  c.numa.forEach((node, n) => {
    node.memory.forEach((r, i) => {
      const path = `numa[${n}].memory[${i}]`;
      alignment(path, r.base, r.size, err);
      const prev = node.memory[i - 1];
      if (prev !== undefined && r.base < prev.base) err(`${path}.base`, `${hex(r.base)} is below the previous range ${hex(prev.base)}: ranges must be sorted`);
      spans.push({ path, base: r.base, end: r.base + r.size, what: `RAM of node ${n}` });
    });
  });
  const sorted = [...spans].sort((a, b) => a.base - b.base);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (overlaps(a, b)) err(b.path, `[${hex(b.base)}, ${hex(b.end)}) overlaps ${a.path} [${hex(a.base)}, ${hex(a.end)})`);
  }
  return spans;
}

function checkVps(c: VmConfig, err: Err): void {
  const owner = new Map<number, number>();
  const x2apic = c.vps.length > X2APIC_VP_THRESHOLD;
  c.vps.forEach((vp, i) => {
    if (vp.vnode >= c.numa.length) err(`vps[${i}].vnode`, `node ${vp.vnode} does not exist`);
    const first = owner.get(vp.reg);
    if (first !== undefined) err(`vps[${i}].reg`, `${hex(vp.reg)} duplicates vps[${first}].reg`);
    else owner.set(vp.reg, i);
    if (c.arch === 'x86_64') {
      if (!x2apic && vp.reg > XAPIC_MAX_ID) {
        err(`vps[${i}].reg`, `APIC ID ${vp.reg} needs x2APIC, which the model enables only above ${X2APIC_VP_THRESHOLD} VPs`);
      } else if (vp.reg > 0xffff_fffe) err(`vps[${i}].reg`, `APIC ID ${hex(vp.reg)} exceeds the x2APIC range`);
    } else if (Math.floor(vp.reg / 0x100_0000) % 0x100 !== 0) {
      err(`vps[${i}].reg`, `MPIDR ${hex(vp.reg)} sets bits 24-31; only affinity fields Aff0-Aff3 are allowed`);
    }
  });
  if (c.vtl2.vnode >= c.numa.length) err('vtl2.vnode', `node ${c.vtl2.vnode} does not exist`);
}

function checkDistances(c: VmConfig, err: Err): void {
  const d = c.distances;
  if (d === undefined) return;
  const n = c.numa.length;
  if (d.length !== n) return err('distances', `${d.length} rows, expected ${n} (one per NUMA node)`);
  d.forEach((row, i) => {
    if (row.length !== n) return err(`distances[${i}]`, `${row.length} entries, expected ${n}`);
    row.forEach((v, j) => {
      const path = `distances[${i}][${j}]`;
      // Linux rejects a SLIT whose diagonal is not 10 or whose other entries are not above 10.
      if (i === j && v !== 10) err(path, `distance to itself must be 10, found ${v}`);
      if (i !== j && v <= 10) err(path, `distance between distinct nodes must be above 10, found ${v}`);
      const mirror = d[j]?.[i];
      if (j > i && mirror !== undefined && d[j]!.length === n && mirror !== v) {
        err(path, `${v} differs from distances[${j}][${i}] = ${mirror}: the matrix must be symmetric`);
      }
    });
  });
}

/** VTL2 RAM the OpenHCL package built by lib/host needs (its image layout, `defaultLayout`). */
export const MIN_VTL2_SIZE = 0x400_0000;

/** The vnode of the highest VTL0 RAM range: the node a vtl2-mode shim carves VTL2 RAM next to. */
export function vnodeOfLastRam(c: Pick<VmConfig, 'numa'>): number {
  let best = { base: -1, vnode: 0 };
  c.numa.forEach((n, vnode) => n.memory.forEach((m) => { if (m.base > best.base) best = { base: m.base, vnode }; }));
  return best.vnode;
}

function checkVtl2(c: VmConfig, ram: Span[], err: Err): void {
  const { base, size } = c.vtl2;
  if (!alignment('vtl2', base, size, err)) return;
  if (size < MIN_VTL2_SIZE) err('vtl2.size', `${hex(size)} is below the ${hex(MIN_VTL2_SIZE)} the OpenHCL package needs`);
  // In vtl2 allocation mode the host DT says nothing about VTL2 RAM's node: the shim carves it
  // beside the highest RAM range and takes that range's node, so the config must say the same.
  if (c.vtl2.mode === 'vtl2' && c.vtl2.vnode !== vnodeOfLastRam(c)) {
    err('vtl2.vnode', `in vtl2 allocation mode VTL2 RAM belongs to node ${vnodeOfLastRam(c)} (the node of the highest RAM range), not ${c.vtl2.vnode}`);
  }
  const ramEnd = Math.max(...ram.map((s) => s.end));
  if (base < ramEnd) err('vtl2.base', `${hex(base)} is below the end of VTL0 RAM ${hex(ramEnd)}`);
  const span: Span = { path: 'vtl2', base, end: base + size, what: 'VTL2 RAM' };
  for (const m of mmioSpans(c)) if (overlaps(span, m)) err('vtl2', `[${hex(base)}, ${hex(span.end)}) overlaps ${m.path} (${m.what})`);
}

function mmioSpans(c: VmConfig): Span[] {
  const spans: Span[] = [];
  c.mmio.vtl0.forEach((r, i) => spans.push({ path: `mmio.vtl0[${i}]`, base: r.base, end: r.base + r.size, what: 'VTL0 MMIO' }));
  (c.mmio.vtl2 ?? []).forEach((r, i) => spans.push({ path: `mmio.vtl2[${i}]`, base: r.base, end: r.base + r.size, what: 'VTL2 MMIO' }));
  return spans;
}

function checkMmio(c: VmConfig, ram: Span[], err: Err): void {
  const spans = mmioSpans(c);
  spans.forEach((m, i) => {
    alignment(m.path, m.base, m.end - m.base, err);
    for (const r of ram) if (overlaps(m, r)) err(m.path, `[${hex(m.base)}, ${hex(m.end)}) overlaps ${r.path} (${r.what})`);
    for (const o of spans.slice(0, i)) if (overlaps(m, o)) err(m.path, `[${hex(m.base)}, ${hex(m.end)}) overlaps ${o.path} (${o.what})`);
  });
  const high = c.mmio.vtl0[1];
  if (c.mmio.vtl2 === undefined && high !== undefined && high.size > 0 && vtl2MmioCarve(high.size) >= high.size) {
    err('mmio.vtl0[1].size', `${hex(high.size)} is too small: carving VTL2 MMIO (${hex(vtl2MmioCarve(high.size))}) would leave VTL0 without its second range`);
  }
  // A vtl2-mode shim carves from the last VTL0 range at or above 4 GiB (mmio.rs select_vtl2_mmio_range).
  if (c.vtl2.mode === 'vtl2' && c.mmio.vtl2 === undefined && high !== undefined && high.base < 2 ** 32) {
    err('mmio.vtl0[1].base', `${hex(high.base)} is below 4 GiB: in vtl2 allocation mode the shim carves VTL2 MMIO from a VTL0 range at or above 4 GiB`);
  }
}

function checkArch(c: VmConfig, ram: Span[], err: Err): void {
  if (c.arch === 'x86_64') {
    if (c.aarch64 !== undefined) err('aarch64', 'platform block given for an x86_64 VM');
    return;
  }
  if (c.isolation === 'snp' || c.isolation === 'tdx') err('isolation', `${c.isolation} is x86-only; aarch64 takes none or vbs`);
  for (const r of ram) if (r.base < AARCH64_RAM_BASE) err(`${r.path}.base`, `${hex(r.base)} is below ${hex(AARCH64_RAM_BASE)}, where aarch64 RAM starts (qemu virt)`);
  const p = c.aarch64;
  if (p === undefined) return err('aarch64', 'required for an aarch64 VM (GIC and PL011 addresses)');
  const devices: Span[] = [
    { path: 'aarch64.gicDistributor', base: p.gicDistributor, end: p.gicDistributor + GICD_SIZE, what: 'GIC distributor' },
    { path: 'aarch64.uart', base: p.uart, end: p.uart + PL011_SIZE, what: 'PL011' },
  ];
  if (p.gicVersion === 3) {
    const end = p.gicRedistributor + GICR_STRIDE * c.vps.length;
    devices.push({ path: 'aarch64.gicRedistributor', base: p.gicRedistributor, end, what: 'GIC redistributors' });
  }
  const others = [...ram, ...mmioSpans(c), { path: 'vtl2', base: c.vtl2.base, end: c.vtl2.base + c.vtl2.size, what: 'VTL2 RAM' }];
  devices.forEach((d, i) => {
    if (d.base % PAGE !== 0) err(d.path, `${hex(d.base)} is not 4K-aligned`);
    for (const o of [...others, ...devices.slice(0, i)]) if (overlaps(d, o)) err(d.path, `${d.what} [${hex(d.base)}, ${hex(d.end)}) overlaps ${o.path} (${o.what})`);
  });
}

function unique<T>(items: T[], key: (t: T) => string, path: (i: number) => string, what: string, err: Err): void {
  const first = new Map<string, number>();
  items.forEach((t, i) => {
    const k = key(t);
    const at = first.get(k);
    if (at !== undefined) err(path(i), `${what} ${k} duplicates ${path(at)}`);
    else first.set(k, i);
  });
}

function checkDevices(c: VmConfig, err: Err): void {
  const { nvme, serial, channels } = c.devices;
  unique(nvme, (d) => d.id, (i) => `devices.nvme[${i}].id`, 'NVMe id', err);
  nvme.forEach((d, i) =>
    unique(d.namespaces, (ns) => String(ns.nsid), (j) => `devices.nvme[${i}].namespaces[${j}].nsid`, 'namespace id', err),
  );
  unique(serial, (s) => s.port, (i) => `devices.serial[${i}].port`, 'serial port', err);
  unique(channels, (ch) => ch.instanceId, (i) => `devices.channels[${i}].instanceId`, 'instance id', err);
}
