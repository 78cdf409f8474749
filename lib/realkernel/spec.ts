import { HclError } from '../errors.ts';
import { findNode, propCells, propStrings, readFdt } from '../fdt/index.ts';
import type { Fdt } from '../fdt/types.ts';
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
