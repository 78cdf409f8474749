import type { VmConfig } from './schema.ts';
import type { TopoRange, Topology } from './topology.ts';

const MIB = 0x10_0000;
/** Lower and upper clamp of the VTL2 MMIO the shim carves from VTL0's high gap. */
export const VTL2_MMIO_MIN = 128 * MIB;
export const VTL2_MMIO_MAX = 1024 * MIB;

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
 * What the paravisor must discover for this config: VP i with its reg and vnode, each node's
 * RAM sorted by base, MMIO after the shim's carve, and the host's VTL2 RAM range. Property tests
 * compare it with what the shim and openvmm_hcl actually find.
 */
export function topologyFromConfig(c: VmConfig): Topology {
  const mmio = splitMmio(c);
  return {
    arch: c.arch,
    vps: c.vps.map((vp, index) => ({ index, reg: vp.reg, vnode: vp.vnode })),
    nodes: c.numa.map((n, vnode) => ({
      vnode,
      memory: n.memory.map((r) => ({ base: r.base, size: r.size })).sort((a, b) => a.base - b.base),
    })),
    vtl0Mmio: mmio.vtl0,
    vtl2Mmio: mmio.vtl2,
    vtl2Ram: [{ base: c.vtl2.base, size: c.vtl2.size, vnode: c.vtl2.vnode }],
  };
}
