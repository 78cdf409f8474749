import type { VmConfig } from '../../config/index.ts';
import { COMMAND_BYTES, IDENTIFY_BYTES, type NvmeDriverSavedState, type QueuePairSavedState } from '../../state/index.ts';

/**
 * The NVMe driver's saved state (disk_nvme/nvme_driver driver.rs `save_restore`) built from the
 * model's queues and back. Constants are the real driver's (queue_pair.rs): one DMA block per
 * queue pair holding a 4-page SQ, a 1-page CQ and 64 data pages, at most 256 entries per queue,
 * 10 CID key bits. Identify data follows the NVMe base spec 2.0 layouts (Figures 275, 280).
 */

const PAGE = 4096;
/** `SQ_SIZE`: the SQ takes the first four pages of a queue pair's block, the CQ follows. */
export const SQ_BYTES = 4 * PAGE;
/** `SQ_SIZE + CQ_SIZE + PER_QUEUE_PAGES_NO_BOUNCE_BUFFER` pages: a queue pair's DMA block. */
export const QUEUE_BLOCK_BYTES = SQ_BYTES + PAGE + 64 * PAGE;
/** `MAX_SQ_ENTRIES` = `MAX_CQ_ENTRIES` = 256; the admin queue always has that many (driver.rs `admin_len`). */
export const MAX_QUEUE_ENTRIES = 256;
/** `PendingCommands::CID_KEY_BITS`. */
export const CID_KEY_BITS = 10;

/** One submission/completion queue pair as the model runs it (device and driver side in one). */
export interface Queue {
  qid: number;
  /** Entries per queue (SQ and CQ alike). */
  size: number;
  sqHead: number;
  sqTail: number;
  cqHead: number;
  cqTail: number;
  /** Phase tag the controller writes next. */
  phase: boolean;
  /** MSI-X vector. */
  vector: number;
  /** VP the vector interrupts. */
  targetVp: number;
  /** Command ids submitted and not completed, in submission order. */
  inFlight: number[];
}

/** What the driver keeps of a controller besides its queues: what it read at start, and its limits. */
export interface DriverRecord {
  identifyCtrl: Uint8Array;
  namespaces: Array<{ nsid: number; identifyNs: Uint8Array }>;
  /** I/O queue size: the device's depth capped at `MAX_QUEUE_ENTRIES` (driver.rs `qsize`). */
  qsize: number;
  maxIoQueues: number;
}

/** The queues of one controller with the address of its admin block; `admin` null while disabled. */
export interface ControllerQueues {
  asq: bigint;
  admin: Queue | null;
  ioQueues: Queue[];
}

const ascii = (out: Uint8Array, at: number, len: number, s: string): void => {
  out.fill(0x20, at, at + len);
  out.set(new TextEncoder().encode(s).subarray(0, len), at);
};

/** The driver record of a configured controller: Identify Controller (SN, MN, SQES, CQES, NN) and Identify Namespace (NSZE, NCAP, NUSE, LBAF0.LBADS) data. */
export function driverRecordOf(d: VmConfig['devices']['nvme'][number]): DriverRecord {
  const ctrl = new Uint8Array(IDENTIFY_BYTES);
  ascii(ctrl, 4, 20, d.id);
  ascii(ctrl, 24, 40, 'hclckpt nvme model');
  ctrl[512] = 0x66; // SQES: 64-byte entries
  ctrl[513] = 0x44; // CQES: 16-byte entries
  new DataView(ctrl.buffer).setUint32(516, d.namespaces.length, true);
  const namespaces = d.namespaces.map((ns) => {
    const id = new Uint8Array(IDENTIFY_BYTES);
    const v = new DataView(id.buffer);
    for (const at of [0, 8, 16]) v.setBigUint64(at, BigInt(ns.blocks), true);
    id[130] = Math.log2(ns.blockSize); // LBAF0 bits 16..23: LBA data size as a power of two
    return { nsid: ns.nsid, identifyNs: id };
  });
  return { identifyCtrl: ctrl, namespaces, qsize: Math.min(d.queueDepth, MAX_QUEUE_ENTRIES), maxIoQueues: d.ioQueues };
}

/** A 64-byte command carrying `cid` in CDW0 bits 16..31: a Read (02h) of namespace 1, or Identify (06h) on the admin queue. */
export function commandFor(cid: number, admin: boolean): Uint8Array {
  const c = new Uint8Array(COMMAND_BYTES);
  const v = new DataView(c.buffer);
  v.setUint32(0, (admin ? 0x06 : 0x02) | (cid << 16), true);
  v.setUint32(4, admin ? 0 : 1, true);
  return c;
}

/** The CID of a saved command (CDW0 bits 16..31). */
export const cidOf = (command: Uint8Array): number => new DataView(command.buffer, command.byteOffset, command.byteLength).getUint16(2, true);

// The driver's view of a queue at save: its queue handler has consumed every completion the
// controller posted (the model keeps no CQ memory across servicing), so the CQ head is the
// controller's tail and the phase it expects there is the controller's; the SQ tail is what it
// last wrote to the doorbell.
function pairOf(q: Queue, admin: boolean, basePfn: bigint, memLen: bigint): QueuePairSavedState {
  return {
    memLen, basePfn, qid: q.qid, sqEntries: q.size, cqEntries: q.size,
    handlerData: {
      sqState: { sqid: q.qid, head: q.sqHead, tail: q.sqTail, committedTail: q.sqTail, len: q.size },
      cqState: { cqid: q.qid, head: q.cqTail, committedHead: q.cqTail, len: q.size, phase: q.phase },
      pendingCmds: { commands: q.inFlight.map((cid) => ({ command: commandFor(cid, admin) })), nextCidHighBits: 0, cidKeyBits: CID_KEY_BITS },
      ...(admin ? { aerHandler: {} } : {}),
    },
  };
}

/** `NvmeDriverSavedState` of one controller; the model allocates no memory for I/O queues (base_pfn and mem_len 0). */
export function driverSavedState(id: string, c: ControllerQueues, r: DriverRecord): NvmeDriverSavedState {
  return {
    identifyCtrl: r.identifyCtrl, deviceId: id, namespaces: r.namespaces,
    workerData: {
      ...(c.admin === null ? {} : { admin: pairOf(c.admin, true, c.asq >> 12n, BigInt(QUEUE_BLOCK_BYTES)) }),
      io: c.ioQueues.map((q) => ({ cpu: q.targetVp, iv: q.vector, queueData: pairOf(q, false, 0n, 0n), unmapped: false })),
      qsize: r.qsize, maxIoQueues: r.maxIoQueues,
    },
  };
}

function queueOf(p: QueuePairSavedState, vector: number, targetVp: number): Queue {
  const { sqState: sq, cqState: cq, pendingCmds } = p.handlerData;
  // Saved with every posted completion consumed, so the controller's tail is the driver's head.
  return {
    qid: p.qid, size: p.sqEntries, sqHead: sq.head, sqTail: sq.tail, cqHead: cq.head, cqTail: cq.head, phase: cq.phase,
    vector, targetVp, inFlight: pendingCmds.commands.map((c) => cidOf(c.command)),
  };
}

/** The queues and driver record a saved driver state holds: the inverse of `driverSavedState`. */
export function fromDriverSavedState(d: NvmeDriverSavedState): { queues: ControllerQueues; record: DriverRecord } {
  const w = d.workerData;
  return {
    queues: {
      asq: w.admin === undefined ? 0n : w.admin.basePfn << 12n,
      admin: w.admin === undefined ? null : queueOf(w.admin, 0, 0),
      ioQueues: w.io.map((q) => queueOf(q.queueData, q.iv, q.cpu)).sort((a, b) => a.qid - b.qid),
    },
    record: { identifyCtrl: d.identifyCtrl, namespaces: d.namespaces, qsize: w.qsize, maxIoQueues: w.maxIoQueues },
  };
}
