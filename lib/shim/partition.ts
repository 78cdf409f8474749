import { HclError } from '../errors.ts';
import type { Topology } from '../config/index.ts';
import { type HostDt, SHIM_LIMITS } from './hostdt.ts';
import { IGVM_MEMORY_TYPE, MEMORY_VTL_TYPE, type Region, type PersistedPayload } from '../abi/index.ts';
import { allocateVtl2Ram, subtractVtl2 } from '../config/index.ts';

/** `openhcl,memory-type` values (MemoryVtlType, defined with the persisted state in lib/abi). */
export { MEMORY_VTL_TYPE };

/** A VTL2 RAM range with its vnode. */
export type Vtl2Range = Region & { vnode: number };
/** One partition memory map entry. */
export type MemoryEntry = PersistedPayload['partitionMemory'][number];

const MIB = 0x10_0000n;
const hex = (n: bigint): string => `0x${n.toString(16)}`;
const end = (r: Region): bigint => r.gpa + r.size;

// The vnode of the host RAM range holding `gpa`, else of the nearest range below it, else 0.
function vnodeAt(host: HostDt, gpa: bigint): number {
  let vnode = 0;
  for (const m of host.memory) if (m.base <= gpa) vnode = m.vnode;
  return vnode;
}

/**
 * VTL2 RAM: host mode = the VTL2_PROTECTABLE entries, else the measured range, which must hold
 * the image; vtl2 mode = what the shim carves from host RAM around the image (`allocateVtl2Ram`).
 */
export function decideVtl2Ram(host: HostDt, measured: Region): Vtl2Range[] {
  let ram: Vtl2Range[];
  if (host.allocationMode === 'host') {
    const prot = host.memory.filter((m) => m.igvmType === IGVM_MEMORY_TYPE.VTL2_PROTECTABLE);
    ram = prot.length > 0 ? prot.map((m) => ({ gpa: m.base, size: m.size, vnode: m.vnode })) : [{ ...measured, vnode: vnodeAt(host, measured.gpa) }];
    if (!ram.some((r) => r.gpa <= measured.gpa && end(measured) <= end(r))) {
      throw new HclError('SHIM_VTL2_MEMORY_INVALID', `vtl2 memory: image ${hex(measured.gpa)}+${hex(measured.size)} is not inside vtl2 ram`);
    }
  } else {
    ram = allocateVtl2Ram(host.memory.map((m) => ({ gpa: m.base, size: m.size, vnode: m.vnode })), measured, host.vtl2MemorySize);
  }
  if (ram.length > SHIM_LIMITS.vtl2RamRanges) throw new HclError('SHIM_LIMIT_EXCEEDED', `vtl2 memory: ${ram.length} ranges exceed ${SHIM_LIMITS.vtl2RamRanges}`);
  return ram;
}

/** Where select_vtl2_mmio_range looks for VTL0 MMIO to carve: ranges at or above 4 GiB. */
const MMIO_HIGH_RANGE_START = 1n << 32n;

/**
 * VTL2 MMIO as host_params/dt topology_from_host_dt decides it. A non-isolated partition in host
 * allocation mode takes the host's VMBus ranges as they are. Otherwise the host's VTL2 ranges are
 * used when given (they must hold `mmio-size`); else max(`mmio-size`, half of VTL0's second
 * range clamped to 128 MiB–1 GiB) is carved from the top of the last VTL0 range at or above
 * 4 GiB (mmio.rs select_vtl2_mmio_range), and VTL0 must keep two ranges.
 */
export function decideMmio(host: HostDt, isolated: boolean): { vtl0: Region[]; vtl2: Region[] } {
  const vtl0 = host.vmbusVtl0.mmio.map((r) => ({ ...r }));
  const given = host.vmbusVtl2.mmio.map((r) => ({ ...r }));
  if (!isolated && host.allocationMode === 'host') return { vtl0, vtl2: given };
  const asked = host.allocationMode === 'vtl2' ? host.vtl2MmioSize ?? 0n : 0n;
  if (given.length > 0) {
    const total = given.reduce((n, r) => n + r.size, 0n);
    if (total < asked) throw new HclError('SHIM_MMIO_INVALID', `vtl2 mmio: the host's ${hex(total)} bytes are less than mmio-size ${hex(asked)}`);
    return { vtl0, vtl2: given };
  }
  if (vtl0.length < 2) throw new HclError('SHIM_MMIO_INVALID', `vtl2 mmio: cannot size the carve, vtl0 has ${vtl0.length} mmio ranges (need 2)`);
  // calculate_default_mmio_size; rounded down to a page, where a real MemoryRange would refuse the half page.
  const half = (vtl0[1]!.size / 2n) & ~0xfffn;
  const fallback = half < 128n * MIB ? 128n * MIB : half > 1024n * MIB ? 1024n * MIB : half;
  const size = asked > fallback ? asked : fallback;
  const from = [...vtl0].reverse().find((r) => r.gpa >= MMIO_HIGH_RANGE_START);
  if (from === undefined || from.size < size) {
    throw new HclError('SHIM_MMIO_INVALID', `vtl2 mmio: no vtl0 range at or above 4 GiB holds ${hex(size)} bytes`);
  }
  if (from.size === size) throw new HclError('SHIM_MMIO_INVALID', `vtl2 mmio: carving ${hex(size)} from vtl0 range ${hex(from.gpa)}+${hex(from.size)} leaves vtl0 one range`);
  from.size -= size;
  return { vtl0, vtl2: [{ gpa: end(from), size }] };
}

/** The partition map as persisted: host RAM less VTL2's ranges typed VTL0, VTL2's ranges VTL2_RAM. */
export function partitionMemory(host: HostDt, vtl2Ram: Vtl2Range[]): MemoryEntry[] {
  const out: MemoryEntry[] = [];
  for (const m of host.memory) {
    for (const r of subtractVtl2([{ gpa: m.base, size: m.size, vnode: m.vnode }], vtl2Ram)) {
      out.push({ base: r.gpa, size: r.size, vnode: m.vnode, igvmType: m.igvmType, vtlType: MEMORY_VTL_TYPE.VTL0 });
    }
  }
  for (const v of vtl2Ram) {
    // A range carved from host RAM keeps that entry's igvm type; one outside it is plain memory.
    const from = host.memory.find((m) => m.base <= v.gpa && end(v) <= m.base + m.size);
    out.push({ base: v.gpa, size: v.size, vnode: v.vnode, igvmType: from?.igvmType ?? IGVM_MEMORY_TYPE.MEMORY, vtlType: MEMORY_VTL_TYPE.VTL2_RAM });
  }
  return out.sort((a, b) => (a.base < b.base ? -1 : 1));
}

/** The partition MMIO as persisted. */
export function partitionMmio(mmio: { vtl0: Region[]; vtl2: Region[] }): PersistedPayload['partitionMmio'] {
  return [
    ...mmio.vtl0.map((r) => ({ base: r.gpa, size: r.size, vtlType: MEMORY_VTL_TYPE.VTL0_MMIO })),
    ...mmio.vtl2.map((r) => ({ base: r.gpa, size: r.size, vtlType: MEMORY_VTL_TYPE.VTL2_MMIO })),
  ];
}

/** The topology the shim computed, in the shared `Topology` shape (byte numbers). */
export function shimTopology(arch: Topology['arch'], p: Pick<PersistedPayload, 'partitionMemory' | 'partitionMmio'>, cpus: HostDt['cpus'], vtl2Ram: Vtl2Range[]): Topology {
  const nodes = new Map<number, Topology['nodes'][number]>();
  for (const m of p.partitionMemory.filter((x) => x.vtlType === MEMORY_VTL_TYPE.VTL0 && x.igvmType === IGVM_MEMORY_TYPE.MEMORY)) {
    const n = nodes.get(m.vnode) ?? { vnode: m.vnode, memory: [] };
    n.memory.push({ base: Number(m.base), size: Number(m.size) });
    nodes.set(m.vnode, n);
  }
  const mmio = (t: number): Topology['vtl0Mmio'] => p.partitionMmio.filter((m) => m.vtlType === t).map((m) => ({ base: Number(m.base), size: Number(m.size) }));
  return {
    arch,
    vps: cpus.map((c, index) => ({ index, reg: Number(c.reg), vnode: c.vnode })),
    nodes: [...nodes.values()].sort((a, b) => a.vnode - b.vnode),
    vtl0Mmio: mmio(MEMORY_VTL_TYPE.VTL0_MMIO),
    vtl2Mmio: mmio(MEMORY_VTL_TYPE.VTL2_MMIO),
    vtl2Ram: vtl2Ram.map((r) => ({ base: Number(r.gpa), size: Number(r.size), vnode: r.vnode })),
  };
}
