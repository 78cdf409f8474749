import { Type, type Static } from '@sinclair/typebox';
import { field } from './fields.ts';
import { u64, uint } from './unit.ts';

/**
 * `ServicingInitState.nvme_state`: the NVMe manager's saved state with the messages and `#[mesh(N)]`
 * field numbers of openvmm's code: the wrapper `NvmeSavedState` (underhill_core servicing.rs),
 * `NvmeManagerSavedState` / `NvmeSavedDiskConfig` (underhill_core nvme_manager/save_restore.rs,
 * package `underhill`) and the driver's `NvmeDriverSavedState` tree (disk_nvme/nvme_driver
 * driver.rs `save_restore`, package `nvme_driver`). Identify structures and commands are the
 * spec's fixed-size byte layouts (mesh `ZeroCopyEncoding`), here as bytes of that exact length.
 */

/** Size of an Identify Controller / Identify Namespace data structure (NVMe base spec 2.0, 5.17.2). */
export const IDENTIFY_BYTES = 4096;
/** Size of a submission queue entry (`spec::Command`). */
export const COMMAND_BYTES = 64;

const exactly = (n: number, what: string) => Type.Uint8Array({ minByteLength: n, maxByteLength: n, description: what });

/** `SubmissionQueueSavedState`. */
export const SqSavedSchema = Type.Object({
  sqid: field(1, uint(16)),
  head: field(2, uint(32)),
  tail: field(3, uint(32)),
  committedTail: field(4, uint(32, 'tail last written to the doorbell')),
  len: field(5, uint(32, 'entries')),
});

/** `CompletionQueueSavedState`. */
export const CqSavedSchema = Type.Object({
  cqid: field(1, uint(16)),
  head: field(2, uint(32)),
  committedHead: field(3, uint(32, 'head last written to the doorbell')),
  len: field(4, uint(32, 'entries')),
  phase: field(5, Type.Boolean({ description: 'phase tag the driver expects at head' })),
});

/** `PendingCommandsSavedState`: the commands submitted and not completed, with the CID allocator. */
export const PendingCommandsSchema = Type.Object({
  commands: field(1, Type.Array(Type.Object({ command: field(1, exactly(COMMAND_BYTES, 'spec::Command, CID in CDW0 bits 16..31')) }))),
  nextCidHighBits: field(2, uint(16)),
  cidKeyBits: field(3, uint(32)),
});

/** `QueueHandlerSavedState`; only the admin queue has an `aer_handler`. */
export const QueueHandlerSchema = Type.Object({
  sqState: field(1, SqSavedSchema),
  cqState: field(2, CqSavedSchema),
  pendingCmds: field(3, PendingCommandsSchema),
  aerHandler: field(4, Type.Optional(Type.Object({ lastAen: field(1, Type.Optional(uint(32))), awaitAenCid: field(2, Type.Optional(uint(16))) }))),
});

/** `QueuePairSavedState`: the queue pair's DMA block (SQ, CQ, then data pages) and its handler. */
export const QueuePairSchema = Type.Object({
  memLen: field(1, u64('bytes of the DMA block')),
  basePfn: field(2, u64('first page frame of the DMA block')),
  qid: field(3, uint(16)),
  sqEntries: field(4, uint(16)),
  cqEntries: field(5, uint(16)),
  handlerData: field(6, QueueHandlerSchema),
});

/** `IoQueueSavedState`. */
export const IoQueueSchema = Type.Object({
  cpu: field(1, uint(32, 'CPU that handles the queue')),
  iv: field(2, uint(32, 'MSI-X vector')),
  queueData: field(3, QueuePairSchema),
  unmapped: field(4, Type.Boolean({ description: 'not yet affinitized to its cpu' })),
});

/** `NvmeDriverSavedState` with its `NvmeDriverWorkerSavedState`. */
export const NvmeDriverSavedSchema = Type.Object({
  identifyCtrl: field(1, exactly(IDENTIFY_BYTES, 'Identify Controller data')),
  deviceId: field(2, Type.String()),
  namespaces: field(3, Type.Array(Type.Object({ nsid: field(1, uint(32)), identifyNs: field(2, exactly(IDENTIFY_BYTES, 'Identify Namespace data')) }))),
  workerData: field(4, Type.Object({
    admin: field(1, Type.Optional(QueuePairSchema)),
    io: field(2, Type.Array(IoQueueSchema)),
    qsize: field(3, uint(16, 'queue size from CAP.MQES')),
    maxIoQueues: field(4, uint(16)),
    allowLazyRestore: field(5, Type.Optional(Type.Boolean())),
  })),
});

/** `NvmeManagerSavedState`: the VP count the drivers were built for and one entry per NVMe device. */
export const NvmeManagerSavedSchema = Type.Object({
  cpuCount: field(1, uint(32)),
  nvmeDisks: field(2, Type.Array(Type.Object({ pciId: field(1, Type.String()), driverState: field(2, NvmeDriverSavedSchema) }))),
});

/** `NvmeSavedState` (servicing.rs), the type of `ServicingInitState.nvme_state`. */
export const NvmeSavedStateSchema = Type.Object({ nvmeState: field(1, NvmeManagerSavedSchema) });

export type NvmeManagerSavedState = Static<typeof NvmeManagerSavedSchema>;
export type NvmeDriverSavedState = Static<typeof NvmeDriverSavedSchema>;
export type QueuePairSavedState = Static<typeof QueuePairSchema>;
export type IoQueueSavedState = Static<typeof IoQueueSchema>;
