import { HclError } from '../../errors.ts';
import type { NvmeManagerSavedState } from '../../state/index.ts';
import type { HclOptions } from '../options.ts';
import type { UnitContext } from './base.ts';
import {
  MAX_QUEUE_ENTRIES, SQ_BYTES, driverRecordOf, driverSavedState, fromDriverSavedState, type DriverRecord, type Queue,
} from './nvme-saved.ts';

/**
 * The NVMe manager (underhill_core nvme_manager): the controllers openvmm_hcl drives (NVMe base
 * spec 2.0: CC, CSTS, AQA, ASQ, ACQ registers; paired submission/completion queues with head/tail
 * doorbells and a phase tag), queue 0 the admin queue, I/O queues per target CPU. It is no state
 * unit: `LoadedVm::save` saves it before the state units into `init_state.nvme_state`, and only
 * under keep-alive; without that state a restore starts every controller fresh.
 */

/** CC: enable, NVM command set, 64-byte SQ entries (IOSQES 6), 16-byte CQ entries (IOCQES 4). */
export const CC_ENABLED = 0x1 | (6 << 16) | (4 << 20);
/** CSTS.RDY. */
export const CSTS_RDY = 0x1;

/** One controller as the model runs it. */
export interface Controller {
  id: string;
  cc: number;
  csts: number;
  aqa: number;
  asq: bigint;
  acq: bigint;
  admin: Queue | null;
  ioQueues: Queue[];
}

/** Every controller, in configuration order (0-based). */
export interface NvmeState {
  controllers: Controller[];
}

const newQueue = (qid: number, size: number, vector: number, targetVp: number): Queue => ({
  qid, size, sqHead: 0, sqTail: 0, cqHead: 0, cqTail: 0, phase: true, vector, targetVp, inFlight: [],
});

const freshController = (id: string): Controller => ({ id, cc: 0, csts: 0, aqa: 0, asq: 0n, acq: 0n, admin: null, ioQueues: [] });

/** The NVMe manager and its controllers. */
export class NvmeManager {
  #state: NvmeState;
  // Per controller, what its driver read at start (or was restored with) and the limits it uses.
  #records: DriverRecord[];

  constructor(private readonly ctx: UnitContext) {
    this.#state = this.defaultState();
    this.#records = ctx.devices.nvme.map(driverRecordOf);
  }

  /** Every controller freshly reset: disabled, no queues. */
  defaultState(): NvmeState {
    return { controllers: this.ctx.devices.nvme.map((n) => freshController(n.id)) };
  }

  /** The live state, read-only, for callers that only look (workloads, the oracle, tests); no copy. */
  view(): Readonly<NvmeState> {
    return this.#state;
  }

  /**
   * The driver starts: the admin queue pair's DMA block begins at page `asq` (the SQ, then the CQ
   * at `SQ_BYTES`, as queue_pair.rs lays it out), AQA holds its 256 entries, CC.EN is set and
   * the controller becomes ready.
   */
  enable(ctrl: number, asq: bigint): void {
    const c = this.#ctrl(ctrl);
    if (c.cc & 1) throw this.#invalid(`enable: controller ${ctrl} is already enabled`);
    if (asq <= 0n || asq + BigInt(SQ_BYTES) >= 1n << 64n || (asq & 0xfffn) !== 0n) throw this.#invalid(`enable: asq 0x${asq.toString(16)} is not a page address`);
    const size = MAX_QUEUE_ENTRIES;
    Object.assign(c, { aqa: ((size - 1) << 16) | (size - 1), asq, acq: asq + BigInt(SQ_BYTES), cc: CC_ENABLED, csts: CSTS_RDY });
    c.admin = newQueue(0, size, 0, 0);
  }

  /** CC.EN cleared: controller reset; every queue and in-flight command is dropped. */
  disable(ctrl: number): void {
    Object.assign(this.#ctrl(ctrl), { cc: 0, csts: 0, admin: null, ioQueues: [] });
  }

  /** Creates the lowest free I/O queue pair with its vector interrupting `targetVp`; returns its qid. */
  createIoQueue(ctrl: number, targetVp: number): number {
    const c = this.#ready(ctrl, 'create queue');
    const vps = this.ctx.topology.vps.length;
    if (!Number.isInteger(targetVp) || targetVp < 0 || targetVp >= vps) throw this.#invalid(`create queue on controller ${ctrl}: vp ${targetVp} out of range (partition has ${vps})`);
    const max = this.maxIoQueues(ctrl);
    let qid = 1;
    while (c.ioQueues.some((q) => q.qid === qid)) qid++;
    if (qid > max) throw this.#invalid(`create queue: controller ${ctrl} has all ${max} i/o queues`);
    c.ioQueues.push(newQueue(qid, this.#records[ctrl]!.qsize, qid, targetVp));
    c.ioQueues.sort((a, b) => a.qid - b.qid);
    return qid;
  }

  /** How many I/O queue pairs the driver of controller `ctrl` may create. */
  maxIoQueues(ctrl: number): number {
    this.#ctrl(ctrl);
    return this.#records[ctrl]!.maxIoQueues;
  }

  /** Deletes an idle I/O queue pair. */
  deleteIoQueue(ctrl: number, qid: number): void {
    const c = this.#ready(ctrl, 'delete queue');
    const q = this.#queue(ctrl, qid);
    if (qid === 0) throw this.#invalid(`delete queue: the admin queue cannot be deleted`);
    if (q.inFlight.length > 0) throw this.#invalid(`delete queue: queue ${qid} on controller ${ctrl} has ${q.inFlight.length} commands in flight`);
    c.ioQueues = c.ioQueues.filter((x) => x.qid !== qid);
  }

  /** Driver writes an SQ entry with command id `cid` and rings the tail doorbell; false when the SQ is full. */
  submit(ctrl: number, qid: number, cid: number): boolean {
    const q = this.#queue(ctrl, qid);
    if (!Number.isInteger(cid) || cid < 0 || cid > 0xffff) throw this.#invalid(`submit: command id ${cid} not a u16`);
    if (q.inFlight.includes(cid)) throw this.#invalid(`submit: command id ${cid} already in flight on queue ${qid}`);
    if ((q.sqTail + 1) % q.size === q.sqHead) return false;
    q.sqTail = (q.sqTail + 1) % q.size;
    q.inFlight.push(cid);
    return true;
  }

  /**
   * Controller completes `cid`: it has consumed one SQ entry (SQ head moves) and posts a CQ entry
   * with the current phase, which flips when the CQ tail wraps. False when the CQ is full.
   */
  complete(ctrl: number, qid: number, cid: number): boolean {
    const q = this.#queue(ctrl, qid);
    const i = q.inFlight.indexOf(cid);
    if (i < 0) throw this.#invalid(`complete: command id ${cid} not in flight on queue ${qid} of controller ${ctrl}`);
    if ((q.cqTail + 1) % q.size === q.cqHead) return false;
    q.inFlight.splice(i, 1);
    q.sqHead = (q.sqHead + 1) % q.size;
    q.cqTail = (q.cqTail + 1) % q.size;
    if (q.cqTail === 0) q.phase = !q.phase;
    return true;
  }

  /** Driver consumes every posted CQ entry and rings the CQ head doorbell; returns how many. */
  reap(ctrl: number, qid: number): number {
    const q = this.#queue(ctrl, qid);
    const n = (q.cqTail - q.cqHead + q.size) % q.size;
    q.cqHead = q.cqTail;
    return n;
  }

  /**
   * `NvmeManager::save(nvme_keepalive)`: without keep-alive nothing is saved (the drivers are
   * torn down); with it, `NvmeManagerSavedState` with one driver state per controller in
   * configuration order. Each queue handler first consumes what its controller posted.
   */
  save(keepAlive: boolean): NvmeManagerSavedState | undefined {
    if (!keepAlive) return undefined;
    for (const c of this.#state.controllers) for (const q of [...(c.admin === null ? [] : [c.admin]), ...c.ioQueues]) q.cqHead = q.cqTail;
    return structuredClone({
      cpuCount: this.ctx.topology.vps.length,
      nvmeDisks: this.#state.controllers.map((c, i) => ({ pciId: c.id, driverState: driverSavedState(c.id, c, this.#records[i]!) })),
    });
  }

  /**
   * Rehydrates from `init_state.nvme_state` (each saved driver onto the configured controller of
   * its PCI id, with the identify data and limits it was saved with), or, when there is none,
   * starts every controller fresh. Unknown or repeated PCI ids, I/O queues without an admin
   * queue and queues on VPs the partition lacks are refused before anything changes.
   */
  restore(saved: NvmeManagerSavedState | undefined): void {
    const state = this.defaultState();
    const records = this.ctx.devices.nvme.map(driverRecordOf);
    const vps = this.ctx.topology.vps.length;
    const seen = new Set<string>();
    for (const disk of structuredClone(saved?.nvmeDisks ?? [])) {
      const i = state.controllers.findIndex((c) => c.id === disk.pciId);
      if (i < 0) throw new HclError('TOPOLOGY_MISMATCH', `nvme: saved device ${JSON.stringify(disk.pciId)} is not an nvme controller of this vm (have ${state.controllers.map((c) => c.id).join(', ') || 'none'})`);
      if (seen.has(disk.pciId)) throw this.#invalid(`restore: device ${disk.pciId} saved twice`);
      seen.add(disk.pciId);
      const { queues, record } = fromDriverSavedState(disk.driverState);
      if (queues.admin === null && queues.ioQueues.length > 0) throw this.#invalid(`restore: device ${disk.pciId} has ${queues.ioQueues.length} i/o queues but no admin queue`);
      for (const q of queues.ioQueues) {
        if (q.targetVp >= vps) throw new HclError('TOPOLOGY_MISMATCH', `nvme: ${disk.pciId} queue ${q.qid} cpu: saved vp ${q.targetVp} but partition has ${vps} vps`);
      }
      const c = state.controllers[i]!;
      if (queues.admin !== null) {
        const size = queues.admin.size;
        Object.assign(c, { cc: CC_ENABLED, csts: CSTS_RDY, aqa: ((size - 1) << 16) | (size - 1), asq: queues.asq, acq: queues.asq + BigInt(SQ_BYTES) });
      }
      Object.assign(c, { admin: queues.admin, ioQueues: queues.ioQueues });
      records[i] = record;
    }
    this.#state = state;
    this.#records = records;
  }

  #invalid(what: string): HclError {
    return new HclError('HCL_DEVICE_INVALID', `nvme: ${what}`);
  }

  #ctrl(ctrl: number): Controller {
    const c = Number.isInteger(ctrl) ? this.#state.controllers[ctrl] : undefined;
    if (c === undefined) throw this.#invalid(`controller ${ctrl} does not exist (have ${this.#state.controllers.length})`);
    return c;
  }

  #ready(ctrl: number, where: string): Controller {
    const c = this.#ctrl(ctrl);
    if ((c.csts & CSTS_RDY) === 0) throw this.#invalid(`${where}: controller ${ctrl} is not ready`);
    return c;
  }

  #queue(ctrl: number, qid: number): Queue {
    const c = this.#ready(ctrl, `queue ${qid}`);
    const q = qid === 0 ? c.admin : c.ioQueues.find((x) => x.qid === qid);
    if (q === null || q === undefined) throw this.#invalid(`queue ${qid} does not exist on controller ${ctrl}`);
    return q;
  }
}

/**
 * `KeepAliveConfig::is_enabled` as the model reads it: OPENHCL_NVME_KEEP_ALIVE says
 * `host,privatepool` (host support and a VTL2 private pool, not `disabled`) and
 * OPENHCL_DISABLE_NVME_KEEP_ALIVE is not set.
 */
export function nvmeKeepAliveOn(o: Pick<HclOptions, 'nvmeKeepAlive' | 'disableNvmeKeepAlive'>): boolean {
  return o.nvmeKeepAlive && !o.disableNvmeKeepAlive;
}
