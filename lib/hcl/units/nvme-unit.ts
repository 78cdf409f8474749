import { Type, type Static } from '@sinclair/typebox';
import { HclError } from '../../errors.ts';
import { IDENTIFY_BYTES, SAVE_RANK, field, fieldsGeneration, nameKeyed, u64, uint, type NvmeDriverSavedState, type UnitDescriptor, type UnitSetStep } from '../../state/index.ts';
import { CC_ENABLED, CSTS_RDY } from './nvme.ts';
import { MAX_QUEUE_ENTRIES, SQ_BYTES, driverSavedState, fromDriverSavedState, type Queue } from './nvme-saved.ts';

/**
 * The `nvme` state unit generations 1–3 wrote (the controllers, registers and queues), kept so
 * their snapshots still decode, and the generation-4 step that moves it where OpenHCL keeps NVMe
 * state: `init_state.nvme_state` (`NvmeSavedState`, lib/state/nvme-state.ts).
 */

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

/** The `nvme` unit's saved state, generation 1. */
export const NvmeStateSchemaV1 = Type.Object({ controllers: field(1, Type.Array(Type.Object(controllerFields(QueueSchemaV1)))) });
/** The `nvme` unit's saved state, generations 2 and 3 (its last). */
export const NvmeStateSchema = Type.Object({ controllers: field(1, Type.Array(Type.Object(controllerFields(QueueSchema)))) });
/** A value of the retired `nvme` unit at its last generation. */
export type NvmeUnitState = Static<typeof NvmeStateSchema>;

/** Generation 2 → 1: only when no queue has coalescing set, since generation 1 cannot express it. */
function downgradeToV1(current: unknown): unknown {
  const s = structuredClone(current) as NvmeUnitState;
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

/** Descriptor of the retired `nvme` unit (read from generations 1–3, never written). */
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

// Generation 3 recorded no identify data and no driver limits: an upgraded driver gets zeroed
// identify data, no namespaces, the queue size its queues have and as many I/O queues as its
// highest qid.
function upgradedDriver(c: NvmeUnitState['controllers'][number]): NvmeDriverSavedState {
  const drained = (q: Queue): Queue => ({ ...q, cqHead: q.cqTail });
  const admin = c.admin === null ? null : drained(c.admin);
  const ioQueues = c.ioQueues.map(drained);
  const record = {
    identifyCtrl: new Uint8Array(IDENTIFY_BYTES), namespaces: [],
    qsize: ioQueues[0]?.size ?? admin?.size ?? 0, maxIoQueues: Math.max(0, ...ioQueues.map((q) => q.qid)),
  };
  return driverSavedState(c.id, { asq: c.asq, admin, ioQueues }, record);
}

function downgradedController(pciId: string, d: NvmeDriverSavedState, where: string): NvmeUnitState['controllers'][number] {
  for (const p of [...(d.workerData.admin === undefined ? [] : [d.workerData.admin]), ...d.workerData.io.map((q) => q.queueData)]) {
    const { sqState: sq, cqState: cq } = p.handlerData;
    const why = p.sqEntries !== p.cqEntries ? `has ${p.sqEntries} sq and ${p.cqEntries} cq entries (generation 3 kept one size)`
      : sq.committedTail !== sq.tail ? `has sq tail ${sq.tail} but doorbell ${sq.committedTail} (generation 3 kept no separate doorbell)`
        : cq.committedHead !== cq.head ? `has cq head ${cq.head} but doorbell ${cq.committedHead} (generation 3 kept no separate doorbell)` : undefined;
    if (why !== undefined) throw new HclError('STATE_GENERATION', `nvme: cannot write generation 3: ${where} queue ${p.qid} ${why}`);
  }
  const { queues } = fromDriverSavedState(d);
  if (queues.admin === null) return { id: pciId, cc: 0, csts: 0, aqa: 0, asq: 0n, acq: 0n, intms: 0, admin: null, ioQueues: [] };
  const size = queues.admin.size;
  return {
    id: pciId, cc: CC_ENABLED, csts: CSTS_RDY, aqa: ((size - 1) << 16) | (size - 1), asq: queues.asq, acq: queues.asq + BigInt(SQ_BYTES), intms: 0,
    admin: queues.admin, ioQueues: queues.ioQueues,
  };
}

/**
 * Generation 4: the `nvme` unit becomes the NVMe manager's `init_state.nvme_state`. Up: every
 * controller becomes a driver state, its posted completions consumed. Down: without an NVMe
 * state (keep-alive off) no `nvme` unit is written, so the generation-3 release starts its
 * controllers fresh, as this one does.
 */
export const NVME_STEP: UnitSetStep = {
  generation: 4,
  retires: ['nvme'],
  produces: [],
  why: `the NVMe manager's state is init_state.nvme_state (NvmeSavedState), saved only under keep-alive; generation 3 recorded no identify data, driver limits or cpu count (upgraded: zeroed, the queues' own size and highest qid, 0), and completions it held posted but unreaped count as consumed; ACQ is the admin block's SQ base + ${SQ_BYTES} bytes, admin queues ${MAX_QUEUE_ENTRIES} entries`,
  up: (retired, init) => {
    const unit = retired.get('nvme') as NvmeUnitState | undefined;
    if (unit === undefined) return { units: new Map(), init };
    const nvmeDisks = unit.controllers.map((c) => ({ pciId: c.id, driverState: upgradedDriver(c) }));
    return { units: new Map(), init: { ...init, nvmeState: { nvmeState: { cpuCount: 0, nvmeDisks } } } };
  },
  down: (_produced, init) => {
    const { nvmeState, ...rest } = init;
    if (nvmeState === undefined) return { units: new Map(), init: rest };
    const controllers = nvmeState.nvmeState.nvmeDisks.map((d, i) => downgradedController(d.pciId, d.driverState, `nvmeDisks[${i}] (${d.pciId})`));
    return { units: new Map([['nvme', { controllers }]]), init: rest };
  },
};
