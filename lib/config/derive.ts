import type { VmConfig } from './schema.ts';
import type { TopoRange, Topology } from './topology.ts';
import { DEFAULT_VTL2_SIZE } from '../abi/index.ts';
import { allocateVtl2Ram, subtractVtl2, type NodeRange } from './vtl2-alloc.ts';

const MIB = 0x10_0000;
/** Lower and upper clamp of the VTL2 MMIO the shim carves from VTL0's high gap. */
export const VTL2_MMIO_MIN = 128 * MIB;
export const VTL2_MMIO_MAX = 1024 * MIB;
/** The `mmio-size` OpenVMM writes in vtl2 allocation mode (igvm.rs build_device_tree: 128 MiB). */
export const HOST_VTL2_MMIO_SIZE = 128 * MIB;

/**
 * Bytes of VTL2 MMIO the shim carves from VTL0's second (high) MMIO range when the host gives
 * none: half the gap, clamped to 128 MiB–1 GiB, rounded down to a page (openhcl_boot
 * host_params/dt). The carve sits at the top of the gap.
 */
export function vtl2MmioCarve(highGapSize: number): number {
  const half = Math.floor(highGapSize / 2 / 4096) * 4096;
  return Math.min(VTL2_MMIO_MAX, Math.max(VTL2_MMIO_MIN, half));
}

/**
 * VTL0 and VTL2 MMIO as the paravisor ends up with them: the host's VTL2 ranges when given,
 * else the top `vtl2MmioCarve` bytes of `vtl0[1]`, which shrinks by as much.
 */
export function splitMmio(c: VmConfig): { vtl0: TopoRange[]; vtl2: TopoRange[] } {
  const vtl0 = c.mmio.vtl0.map((r) => ({ base: r.base, size: r.size }));
  if (c.mmio.vtl2 !== undefined) return { vtl0, vtl2: c.mmio.vtl2.map((r) => ({ base: r.base, size: r.size })) };
  const high = vtl0[1]!;
  const carve = vtl2MmioCarve(high.size);
  high.size -= carve;
  return { vtl0, vtl2: [{ base: high.base + high.size, size: carve }] };
}

/**
 * VTL2 RAM as the shim decides it: host mode = the host's VTL2 range; vtl2 mode = the carve
 * `allocateVtl2Ram` makes from node RAM around the image loaded at `vtl2.base`, with the host's
 * memory-size `vtl2.size`. Throws SHIM_VTL2_MEMORY_INVALID if it cannot.
 */
export function vtl2RamOf(c: VmConfig): NodeRange[] {
  if (c.vtl2.mode === 'host') return [{ gpa: BigInt(c.vtl2.base), size: BigInt(c.vtl2.size), vnode: c.vtl2.vnode }];
  return allocateVtl2Ram(nodeRam(c), { gpa: BigInt(c.vtl2.base), size: measuredVtl2Size(c) }, BigInt(c.vtl2.size));
}

/**
 * The image's measured VTL2 size (ShimParams memory_size): the release package is laid out in
 * DEFAULT_VTL2_SIZE and relocated; the CVM package, which every isolated x86_64 VM boots (snp,
 * tdx and vbs: lib/host/fromconfig.ts `packageOptionsFor`), is built over the config's range.
 */
export function measuredVtl2Size(c: VmConfig): bigint {
  return bootsCvmPackage(c) ? BigInt(c.vtl2.size) : DEFAULT_VTL2_SIZE;
}

/** Whether the VM boots the CVM package (fixed at its VTL2 base) rather than the relocatable release one. */
export function bootsCvmPackage(c: Pick<VmConfig, 'arch' | 'isolation'>): boolean {
  return c.arch === 'x86_64' && c.isolation !== 'none';
}

function nodeRam(c: VmConfig): NodeRange[] {
  const ram = c.numa.flatMap((n, vnode) => n.memory.map((r) => ({ gpa: BigInt(r.base), size: BigInt(r.size), vnode })));
  return ram.sort((a, b) => (a.gpa < b.gpa ? -1 : 1));
}

/**
 * What the paravisor must discover for this config: VP i with its reg and vnode, each node's
 * VTL0 RAM (less any VTL2 carve) sorted by base, MMIO after the shim's carve, and VTL2 RAM.
 * Property tests compare it with what the shim and openvmm_hcl actually find.
 */
export function topologyFromConfig(c: VmConfig): Topology {
  const mmio = splitMmio(c);
  const vtl2 = vtl2RamOf(c);
  const vtl0 = subtractVtl2(nodeRam(c), vtl2);
  const range = (r: NodeRange): TopoRange => ({ base: Number(r.gpa), size: Number(r.size) });
  return {
    arch: c.arch,
    vps: c.vps.map((vp, index) => ({ index, reg: vp.reg, vnode: vp.vnode })),
    // A node whose RAM all went to VTL2 has no VTL0 entry left, so the shim reports no node for it.
    nodes: c.numa.map((_, vnode) => ({ vnode, memory: vtl0.filter((r) => r.vnode === vnode).map(range) })).filter((n) => n.memory.length > 0),
    vtl0Mmio: mmio.vtl0,
    vtl2Mmio: mmio.vtl2,
    vtl2Ram: vtl2.map((r) => ({ ...range(r), vnode: r.vnode })),
  };
}
