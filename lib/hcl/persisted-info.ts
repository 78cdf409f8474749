import type { PersistedPayload } from '../abi/index.ts';
import { MEMORY_VTL_TYPES, type PartitionMemoryEntry } from './discover.ts';
import type { NvmeManagerSavedState } from '../state/index.ts';

/**
 * What openvmm_hcl leaves for the next shim at servicing save (underhill_core
 * loader/vtl2_config `write_persisted_info`): the partition memory map it parsed from the shim's
 * device tree, split into memory and MMIO, and the CPUs with NVMe interrupts
 * (nvme_manager/save_restore_helpers.rs `nvme_interrupt_state`).
 */

/** One I/O queue as `nvme_interrupt_state` sees it: the CPU its interrupt targets and its pending commands. */
export interface IoQueueIrq {
  cpu: number;
  pendingCommands: number;
}

/** `VPInterruptState`: CPUs with mapped interrupts and no I/O in flight, and CPUs with I/O in flight; both sorted. */
export interface VpInterruptState {
  cpusWithMappedInterruptsNoIo: number[];
  cpusWithOutstandingIo: number[];
}

/**
 * `nvme_interrupt_state`: every CPU some disk's I/O queue targets has a mapped interrupt; it has
 * outstanding I/O if any of its queues has a pending command. The admin queue is not looked at.
 * `disks` undefined is "no NVMe manager state" (keep-alive off): both lists empty.
 */
export function nvmeInterruptState(disks: ReadonlyArray<{ io: readonly IoQueueIrq[] }> | undefined): VpInterruptState {
  const busy = new Map<number, boolean>();
  for (const d of disks ?? []) for (const q of d.io) busy.set(q.cpu, (busy.get(q.cpu) ?? false) || q.pendingCommands > 0);
  const sorted = [...busy].sort(([a], [b]) => a - b);
  return {
    cpusWithMappedInterruptsNoIo: sorted.filter(([, io]) => !io).map(([cpu]) => cpu),
    cpusWithOutstandingIo: sorted.filter(([, io]) => io).map(([cpu]) => cpu),
  };
}

/**
 * The I/O queues of a saved `NvmeManagerSavedState`, per disk, as `nvmeInterruptState` takes them
 * (`worker_data.io[].cpu` and `queue_data.handler_data.pending_cmds.commands`); undefined stays undefined.
 */
export function nvmeIoQueues(state: NvmeManagerSavedState | undefined): Array<{ io: IoQueueIrq[] }> | undefined {
  return state?.nvmeDisks.map((d) => ({ io: d.driverState.workerData.io.map((q) => ({ cpu: q.cpu, pendingCommands: q.queueData.handlerData.pendingCmds.commands.length })) }));
}

const MMIO_TYPES = new Set(['VTL0_MMIO', 'VTL2_MMIO']);

/** The `SavedState` payload `write_persisted_info` builds from the parsed map and the interrupt state. */
export function persistedInfo(map: readonly PartitionMemoryEntry[], irq: VpInterruptState): PersistedPayload {
  const code = (e: PartitionMemoryEntry): number => MEMORY_VTL_TYPES.indexOf(e.vtlType);
  const range = (e: PartitionMemoryEntry) => ({ base: BigInt(e.range.base), size: BigInt(e.range.size) });
  return {
    partitionMemory: map.filter((e) => !MMIO_TYPES.has(e.vtlType)).map((e) => ({ ...range(e), vnode: e.vnode ?? 0, vtlType: code(e), igvmType: e.igvmType ?? 0 })),
    partitionMmio: map.filter((e) => MMIO_TYPES.has(e.vtlType)).map((e) => ({ ...range(e), vtlType: code(e) })),
    cpusWithMappedInterruptsNoIo: [...irq.cpusWithMappedInterruptsNoIo],
    cpusWithOutstandingIo: [...irq.cpusWithOutstandingIo],
  };
}
