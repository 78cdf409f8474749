import { Type, type Static } from '@sinclair/typebox';
import { HclError } from '../../errors.ts';
import { SAVE_RANK, field, fieldsGeneration, nameKeyed, u64, uint, type UnitDescriptor } from '../../state/index.ts';
import { UnitBase, type UnitContext } from './base.ts';

/**
 * `nvme`: the NVMe controllers openvmm_hcl drives (NVMe base spec 2.0: CC, CSTS, AQA, ASQ, ACQ,
 * INTMS registers; paired submission/completion queues with head/tail doorbells and a phase tag).
 * Queue 0 is the admin queue; I/O queues are created per target CPU, as OpenHCL's driver does.
 */

/** CC: enable, NVM command set, 64-byte SQ entries (IOSQES 6), 16-byte CQ entries (IOCQES 4). */
export const CC_ENABLED = 0x1 | (6 << 16) | (4 << 20);
/** CSTS.RDY. */
export const CSTS_RDY = 0x1;

/** One submission/completion queue pair, generation 1 (kept exactly: golden snapshots use it). */
export const QueueSchemaV1 = Type.Object({
  qid: field(1, uint(16)),
  size: field(2, uint(16, 'entries per queue')),
  sqHead: field(3, uint(16)),
  sqTail: field(4, uint(16)),
  cqHead: field(5, uint(16)),
  cqTail: field(6, uint(16)),
  phase: field(7, Type.Boolean({ description: 'phase tag the controller writes next' })),
  vector: field(8, uint(16, 'MSI-X vector')),
  targetVp: field(9, uint(32, 'VP the vector interrupts')),
  inFlight: field(10, Type.Array(uint(16), { description: 'command ids submitted and not completed, in submission order' })),
});

/** Default of `interruptCoalescing`: aggregation off, every completion interrupts at once. */
export const NO_COALESCING = { time: 0, threshold: 0 } as const;

/**
 * Interrupt coalescing of a queue's vector (NVMe 2.0 Feature 08h: aggregation time in 100 µs
 * units, aggregation threshold as a 0's based entry count; Feature 09h turns it on per vector).
 */
export const CoalescingSchema = Type.Object(
  { time: field(1, uint(8, 'aggregation time, 100 µs units')), threshold: field(2, uint(8, "aggregation threshold, 0's based entries")) },
  { default: NO_COALESCING, description: 'absent means no coalescing (time 0, threshold 0)' },
);

/** One submission/completion queue pair; generation 2 adds optional interrupt coalescing. */
export const QueueSchema = Type.Object({ ...QueueSchemaV1.properties, interruptCoalescing: field(11, Type.Optional(CoalescingSchema)) });
export type Queue = Static<typeof QueueSchema>;

const controllerFields = <Q extends typeof QueueSchemaV1 | typeof QueueSchema>(queue: Q) => ({
  id: field(1, Type.String()),
  cc: field(2, uint(32)),
  csts: field(3, uint(32)),
  aqa: field(4, uint(32)),
  asq: field(5, u64()),
  acq: field(6, u64()),
  intms: field(7, uint(32)),
  admin: field(8, Type.Union([queue, Type.Null()])),
  ioQueues: field(9, Type.Array(queue)),
});

/** One controller. */
export const ControllerSchema = Type.Object(controllerFields(QueueSchema));
export type Controller = Static<typeof ControllerSchema>;

/** The `nvme` unit's saved state, generation 1. */
export const NvmeStateSchemaV1 = Type.Object({ controllers: field(1, Type.Array(Type.Object(controllerFields(QueueSchemaV1)))) });
/** The `nvme` unit's saved state (current generation). */
export const NvmeStateSchema = Type.Object({ controllers: field(1, Type.Array(ControllerSchema)) });
export type NvmeState = Static<typeof NvmeStateSchema>;

/** Generation 2 → 1: only when no queue has coalescing set, since generation 1 cannot express it. */
function downgradeToV1(current: unknown): unknown {
  const s = structuredClone(current) as NvmeState;
  s.controllers.forEach((c, ci) => {
    for (const q of [...(c.admin === null ? [] : [c.admin]), ...c.ioQueues]) {
      const ic = q.interruptCoalescing;
      if (ic !== undefined && (ic.time !== NO_COALESCING.time || ic.threshold !== NO_COALESCING.threshold)) {
        throw new HclError('STATE_GENERATION', `nvme: cannot write generation 1: controllers[${ci}] queue ${q.qid} has interrupt coalescing (time ${ic.time}, threshold ${ic.threshold}), which generation 1 cannot express`);
      }
      delete q.interruptCoalescing;
    }
  });
  return s;
}

/** Descriptor of the `nvme` unit. */
export const NVME_UNIT: UnitDescriptor = {
  name: 'nvme',
  package: 'openvmm.nvme',
  message: 'SavedState',
  saveRank: SAVE_RANK.nvme,
  generations: [
    { generation: 1, schema: nameKeyed(NvmeStateSchemaV1) },
    // Generation 1 state is generation 2 state without coalescing: the upgrade is the identity.
    { generation: 2, schema: nameKeyed(NvmeStateSchema), upgrade: (previous) => previous, downgrade: downgradeToV1 },
    fieldsGeneration(NvmeStateSchema),
  ],
};

/**
 * "CPUs with outstanding I/O": target VPs of every queue with commands in flight, ascending.
 * The shim's persisted state carries this list so those CPUs start in Linux on restore.
 */
export function cpusWithOutstandingIo(state: NvmeState): number[] {
  const vps = new Set<number>();
  for (const c of state.controllers) {
    for (const q of [...(c.admin === null ? [] : [c.admin]), ...c.ioQueues]) if (q.inFlight.length > 0) vps.add(q.targetVp);
  }
  return [...vps].sort((a, b) => a - b);
}

const newQueue = (qid: number, size: number, vector: number, targetVp: number): Queue => ({
  qid, size, sqHead: 0, sqTail: 0, cqHead: 0, cqTail: 0, phase: true, vector, targetVp, inFlight: [],
});

/** NVMe controllers addressed by configuration order (0-based). */
export class NvmeUnit extends UnitBase<NvmeState> {
  constructor(ctx: UnitContext) {
    super(NVME_UNIT, ctx);
  }

  defaultState(): NvmeState {
    return {
      controllers: this.ctx.devices.nvme.map((n) => ({
        id: n.id, cc: 0, csts: 0, aqa: 0, asq: 0n, acq: 0n, intms: 0, admin: null, ioQueues: [],
      })),
    };
  }

  /** Driver programs AQA/ASQ/ACQ and sets CC.EN; the controller becomes ready. */
  enable(ctrl: number, asq: bigint, acq: bigint): void {
    const c = this.#ctrl(ctrl);
    if (c.cc & 1) throw this.invalid(`enable: controller ${ctrl} is already enabled`);
    for (const [n, a] of [['asq', asq], ['acq', acq]] as const) {
      if (a <= 0n || a >= 1n << 64n || (a & 0xfffn) !== 0n) throw this.invalid(`enable: ${n} 0x${a.toString(16)} is not a page address`);
    }
    const size = Math.min(this.#depth(ctrl), 4096);
    Object.assign(c, { aqa: ((size - 1) << 16) | (size - 1), asq, acq, cc: CC_ENABLED, csts: CSTS_RDY, intms: 0 });
    c.admin = newQueue(0, size, 0, 0);
  }

  /** CC.EN cleared: controller reset; every queue and in-flight command is dropped. */
  disable(ctrl: number): void {
    const c = this.#ctrl(ctrl);
    Object.assign(c, { cc: 0, csts: 0, intms: 0, admin: null, ioQueues: [] });
  }

  /** Creates the lowest free I/O queue pair with its vector interrupting `targetVp`; returns its qid. */
  createIoQueue(ctrl: number, targetVp: number): number {
    const c = this.#ready(ctrl, 'create queue');
    this.checkVp(targetVp, `create queue on controller ${ctrl}`);
    const max = this.maxIoQueues(ctrl);
    let qid = 1;
    while (c.ioQueues.some((q) => q.qid === qid)) qid++;
    if (qid > max) throw this.invalid(`create queue: controller ${ctrl} has all ${max} i/o queues`);
    c.ioQueues.push(newQueue(qid, this.#depth(ctrl), qid, targetVp));
    c.ioQueues.sort((a, b) => a.qid - b.qid);
    return qid;
  }

  /** How many I/O queue pairs controller `ctrl` supports (its configured `ioQueues`). */
  maxIoQueues(ctrl: number): number {
    this.#ctrl(ctrl);
    return this.ctx.devices.nvme[ctrl]?.ioQueues ?? 0;
  }

  /** Deletes an idle I/O queue pair. */
  deleteIoQueue(ctrl: number, qid: number): void {
    const c = this.#ready(ctrl, 'delete queue');
    const q = this.#queue(ctrl, qid);
    if (qid === 0) throw this.invalid(`delete queue: the admin queue cannot be deleted`);
    if (q.inFlight.length > 0) throw this.invalid(`delete queue: queue ${qid} on controller ${ctrl} has ${q.inFlight.length} commands in flight`);
    c.ioQueues = c.ioQueues.filter((x) => x.qid !== qid);
  }

  /** Driver writes an SQ entry with command id `cid` and rings the tail doorbell; false when the SQ is full. */
  submit(ctrl: number, qid: number, cid: number): boolean {
    const q = this.#queue(ctrl, qid);
    if (!Number.isInteger(cid) || cid < 0 || cid > 0xffff) throw this.invalid(`submit: command id ${cid} not a u16`);
    if (q.inFlight.includes(cid)) throw this.invalid(`submit: command id ${cid} already in flight on queue ${qid}`);
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
    if (i < 0) throw this.invalid(`complete: command id ${cid} not in flight on queue ${qid} of controller ${ctrl}`);
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

  /** Set Features 08h/09h for one queue's vector: coalesce its interrupts; `null` turns coalescing off. */
  setInterruptCoalescing(ctrl: number, qid: number, setting: { time: number; threshold: number } | null): void {
    const q = this.#queue(ctrl, qid);
    if (setting === null) {
      delete q.interruptCoalescing;
      return;
    }
    for (const [k, v] of Object.entries(setting)) {
      if (!Number.isInteger(v) || v < 0 || v > 0xff) throw this.invalid(`coalescing: ${k} ${v} on queue ${qid} is not a byte`);
    }
    q.interruptCoalescing = { time: setting.time, threshold: setting.threshold };
  }

  /** INTMS / INTMC: mask or unmask an interrupt vector (0..31). */
  setInterruptMask(ctrl: number, vector: number, masked: boolean): void {
    const c = this.#ready(ctrl, 'intms');
    if (!Number.isInteger(vector) || vector < 0 || vector > 31) throw this.invalid(`intms: vector ${vector} not in 0..31`);
    c.intms = (masked ? c.intms | (1 << vector) : c.intms & ~(1 << vector)) >>> 0;
  }

  protected override checkRestore(s: NvmeState): void {
    s.controllers.forEach((c, i) =>
      [...(c.admin === null ? [] : [c.admin]), ...c.ioQueues].forEach((q) =>
        this.checkRestoredVp(q.targetVp, `controllers[${i}] queue ${q.qid} targetVp`),
      ),
    );
  }

  #depth(ctrl: number): number {
    return this.ctx.devices.nvme[ctrl]?.queueDepth ?? 2;
  }

  #ctrl(ctrl: number): Controller {
    return this.at(this.state.controllers, ctrl, 'controller');
  }

  #ready(ctrl: number, where: string): Controller {
    const c = this.#ctrl(ctrl);
    if ((c.csts & CSTS_RDY) === 0) throw this.invalid(`${where}: controller ${ctrl} is not ready`);
    return c;
  }

  #queue(ctrl: number, qid: number): Queue {
    const c = this.#ready(ctrl, `queue ${qid}`);
    const q = qid === 0 ? c.admin : c.ioQueues.find((x) => x.qid === qid);
    if (q === null || q === undefined) throw this.invalid(`queue ${qid} does not exist on controller ${ctrl}`);
    return q;
  }
}
