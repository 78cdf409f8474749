/**
 * Topology: what the paravisor must see of the VM. The shim computes it from the host device
 * tree; openvmm_hcl discovers it from /sys/firmware/fdt; `topologyFromConfig` says what it
 * should be. Property tests compare the three. Addresses are byte integers.
 */

/** A range `[base, base + size)` in bytes. */
export interface TopoRange {
  base: number;
  size: number;
}

/** One VP as discovered: its VP index, APIC ID or MPIDR, and vnode. */
export interface TopoVp {
  index: number;
  reg: number;
  vnode: number;
}

/** One NUMA node: its VTL0 RAM ranges, sorted by base. */
export interface TopoNode {
  vnode: number;
  memory: TopoRange[];
}

/** The topology the paravisor runs with. */
export interface Topology {
  arch: 'x86_64' | 'aarch64';
  vps: TopoVp[];
  nodes: TopoNode[];
  /** VTL0 MMIO ranges (two). */
  vtl0Mmio: TopoRange[];
  /** VTL2 MMIO ranges. */
  vtl2Mmio: TopoRange[];
  /** VTL2 RAM ranges with their vnode. */
  vtl2Ram: Array<TopoRange & { vnode: number }>;
}
