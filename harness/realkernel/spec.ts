import type { Topology, VmConfig } from '../../lib/config/index.ts';
import { HclError } from '../../lib/errors.ts';
import { findNode, propCells, propStrings, readFdt, type Fdt } from '../../lib/fdt/index.ts';
import { memoryPerNode } from './fdtdiff.ts';
import type { BootSpec } from './qemu.ts';

/**
 * The qemu machine shape read back from a kernel DTB: CPU count and NUMA placement from /cpus,
 * node RAM from the memory nodes, GIC version from the interrupt controller. Used when a DTB is
 * booted on its own (`hclckpt kernel check --dtb FILE`), so -smp/-numa match the blob.
 */
export type MachineShape = Pick<BootSpec, 'cpus' | 'nodes' | 'gicVersion'>;

function bad(why: string): HclError {
  return new HclError('KERNEL_CHECK_FAILED', `kernel DTB: ${why}`);
}

/** The machine shape a DTB describes; KERNEL_CHECK_FAILED when it cannot be booted on -M virt. */
export function shapeFromFdt(fdt: Fdt): MachineShape {
  const cpus = findNode(fdt.root, '/cpus')?.children.filter((c) => propStrings(c, 'device_type')?.[0] === 'cpu') ?? [];
  if (cpus.length === 0) throw bad('no cpu nodes under /cpus');
  const ram = memoryPerNode(fdt.root);
  if (ram.size === 0) throw bad('no memory nodes');
  const ids = [...new Set([...ram.keys(), ...cpus.map((c) => Number(propCells(c, 'numa-node-id', 1)?.[0] ?? 0n))])].sort((a, b) => a - b);
  ids.forEach((id, i) => {
    if (id !== i) throw bad(`numa node ids must be 0..${ids.length - 1}, found ${ids.join(',')}`);
  });
  const nodes = ids.map((id) => ({
    // Linux numbers CPUs in /cpus order; qemu's -numa cpus= uses the same indices.
    cpus: cpus.flatMap((c, i) => (Number(propCells(c, 'numa-node-id', 1)?.[0] ?? 0n) === id ? [i] : [])),
    memBytes: Number(ram.get(id) ?? 0n),
  }));
  const gic = fdt.root.children.find((n) => n.properties.some((p) => p.name === 'interrupt-controller'));
  const compat = gic === undefined ? [] : (propStrings(gic, 'compatible') ?? []);
  const gicVersion = compat.includes('arm,gic-v3') ? 3 : compat.some((c) => /gic-400|cortex-a15-gic|arm,gic-v2/.test(c)) ? 2 : undefined;
  if (gicVersion === undefined) throw bad(`no GICv2/v3 interrupt controller at the root (compatible: ${compat.join(', ') || 'none'})`);
  return { cpus: cpus.length, nodes, gicVersion };
}

/** `shapeFromFdt` for a blob. */
export function shapeFromDtb(dtb: Uint8Array): MachineShape {
  return shapeFromFdt(readFdt(dtb));
}

/**
 * The MPIDR qemu `-M virt` (TCG) gives CPU `index`: Aff1 = index / cluster, Aff0 = index % cluster,
 * with clusters of 16 CPUs under GICv3 and 8 under GICv2 (the GIC target-list width).
 */
export function virtMpidr(index: number, gicVersion: 2 | 3): number {
  const cluster = gicVersion === 3 ? 16 : 8;
  return Math.floor(index / cluster) * 0x100 + (index % cluster);
}

/**
 * The qemu machine for a booted aarch64 VM: one qemu CPU per VP, one NUMA node per topology node
 * holding that node's VTL2 RAM (what the kernel DTB's memory nodes describe; a node without any
 * is memoryless), GIC version from `config.aarch64`. CONFIG_INVALID when the config cannot boot
 * on -M virt, e.g. a VP whose MPIDR is not the one qemu gives that CPU (PSCI CPU_ON would fail).
 */
export function shapeFromTopology(config: VmConfig, topology: Topology): MachineShape {
  const refuse = (why: string): HclError => new HclError('CONFIG_INVALID', `kernel check of ${config.name}: ${why}`);
  if (config.arch !== 'aarch64' || config.aarch64 === undefined) throw refuse('the real-kernel check needs an aarch64 config with an aarch64 platform section');
  const gicVersion = config.aarch64.gicVersion;
  const vps = [...topology.vps].sort((a, b) => a.index - b.index);
  vps.forEach((vp, i) => {
    const want = virtMpidr(i, gicVersion);
    if (vp.reg !== want) {
      throw refuse(`vps[${i}].reg is MPIDR 0x${vp.reg.toString(16)}, but qemu virt (GICv${gicVersion}) gives cpu ${i} MPIDR 0x${want.toString(16)}`);
    }
  });
  const ids = [...new Set([...topology.nodes.map((n) => n.vnode), ...vps.map((v) => v.vnode)])].sort((a, b) => a - b);
  const nodes = ids.map((id, i) => {
    if (id !== i) throw refuse(`vnodes must be 0..${ids.length - 1}, found ${ids.join(',')}`);
    return {
      cpus: vps.filter((v) => v.vnode === id).map((v) => v.index),
      memBytes: topology.vtl2Ram.filter((r) => r.vnode === id).reduce((s, r) => s + r.size, 0),
    };
  });
  return { cpus: vps.length, nodes, gicVersion };
}
