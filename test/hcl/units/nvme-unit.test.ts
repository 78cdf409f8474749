import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NVME_STEP, NvmeManager, type NvmeUnitState } from '../../../lib/hcl/units/index.ts';
import type { InitState } from '../../../lib/state/init-state.ts';
import { defaultRegistry } from '../../../lib/snapshot/registry.ts';
import { testContext, throwsHcl } from './fixture.ts';

// The generation-4 unit-set step: the retired `nvme` unit <-> init_state.nvme_state.
const INIT: InitState = { firmwareType: 'none', vmStopReferenceTime: 0n, emuplat: { rtcLocalClock: { offsetFromHostTimeMillis: 0n }, netvspState: [] }, overlayShutdownDevice: false };
const registry = defaultRegistry();

/** A manager with controller 0 enabled, two I/O queues (one busy, one with a posted, unreaped completion). */
function busy(): NvmeManager {
  const n = new NvmeManager(testContext());
  n.enable(0, 0x20_0000n);
  const a = n.createIoQueue(0, 3);
  const b = n.createIoQueue(0, 1);
  n.submit(0, a, 0x51);
  n.submit(0, b, 2);
  n.complete(0, b, 2);
  n.submit(0, 0, 9);
  return n;
}

test('down writes the nvme unit of generation 3 (a valid value of it); up brings back the same NVMe state', () => {
  const saved = busy().save(true)!;
  const init = { ...INIT, nvmeState: { nvmeState: saved } };
  const down = NVME_STEP.down(new Map(), init);
  assert.is(down.init.nvmeState, undefined);
  const unit = down.units.get('nvme') as NvmeUnitState;
  registry.validateUnitState('nvme', unit);
  assert.equal(unit.controllers.map((c) => [c.id, c.cc & 1, c.admin?.inFlight, c.ioQueues.map((q) => [q.qid, q.targetVp, q.inFlight])]), [
    ['nvme0', 1, [9], [[1, 3, [0x51]], [2, 1, []]]], ['nvme1', 0, undefined, []],
  ]);
  const up = NVME_STEP.up(new Map([['nvme', unit]]), down.init);
  const back = up.init.nvmeState!.nvmeState;
  // Generation 3 did not record the VP count, identify data or the driver's limits.
  assert.is(back.cpuCount, 0);
  assert.equal(back.nvmeDisks.map((d) => [d.driverState.workerData.qsize, d.driverState.workerData.maxIoQueues, d.driverState.namespaces]), [[8, 2, []], [0, 0, []]]);
  const queues = (s: typeof saved) => s.nvmeDisks.map((d) => [d.pciId, d.driverState.workerData.admin, d.driverState.workerData.io]);
  assert.equal(queues(back), queues(saved));
});

test('up: a generation-3 unit restores into the manager with the same controllers it described', () => {
  const n = busy();
  n.save(true); // consumes the posted completion, as a save does
  const unit = NVME_STEP.down(new Map(), { ...INIT, nvmeState: { nvmeState: n.save(true)! } }).units.get('nvme') as NvmeUnitState;
  const m = new NvmeManager(testContext());
  m.restore(NVME_STEP.up(new Map([['nvme', unit]]), INIT).init.nvmeState?.nvmeState);
  assert.equal(m.view(), n.view());
});

test('up: completions a generation-3 unit held posted and unreaped count as consumed; INTMS and coalescing are not kept', () => {
  const unit = NVME_STEP.down(new Map(), { ...INIT, nvmeState: { nvmeState: busy().save(true)! } }).units.get('nvme') as NvmeUnitState;
  const q = unit.controllers[0]!.ioQueues[1]!;
  Object.assign(q, { cqHead: 0, cqTail: 1, interruptCoalescing: { time: 1, threshold: 2 } });
  unit.controllers[0]!.intms = 5;
  const up = NVME_STEP.up(new Map([['nvme', unit]]), INIT).init;
  const io = up.nvmeState!.nvmeState.nvmeDisks[0]!.driverState.workerData.io[1]!;
  assert.equal(io.queueData.handlerData.cqState, { cqid: 2, head: 1, committedHead: 1, len: 8, phase: true });
  const again = (NVME_STEP.down(new Map(), up).units.get('nvme') as NvmeUnitState).controllers[0]!;
  assert.equal([again.intms, again.ioQueues[1]?.interruptCoalescing, again.ioQueues[1]?.cqHead], [0, undefined, 1]);
});

test('without NVMe state (keep-alive off) down writes no nvme unit and up leaves the init state alone', () => {
  assert.equal(NVME_STEP.down(new Map(), INIT), { units: new Map(), init: INIT });
  assert.equal(NVME_STEP.up(new Map(), INIT), { units: new Map(), init: INIT });
});

test('down refuses what generation 3 cannot express: separate SQ/CQ sizes, a doorbell behind the tail or head', () => {
  const cases: Array<[string, (io: NonNullable<InitState['nvmeState']>['nvmeState']['nvmeDisks'][number]['driverState']['workerData']['io'][number]) => void, string]> = [
    ['sizes', (io) => { io.queueData.cqEntries = 4; }, 'queue 1 has 8 sq and 4 cq entries'],
    ['sq doorbell', (io) => { io.queueData.handlerData.sqState.committedTail = 0; }, 'queue 1 has sq tail 1 but doorbell 0'],
    ['cq doorbell', (io) => { io.queueData.handlerData.cqState.committedHead = 3; }, 'queue 1 has cq head 0 but doorbell 3'],
  ];
  for (const [, change, msg] of cases) {
    const saved = busy().save(true)!;
    change(saved.nvmeDisks[0]!.driverState.workerData.io[0]!);
    throwsHcl(() => NVME_STEP.down(new Map(), { ...INIT, nvmeState: { nvmeState: saved } }), 'STATE_GENERATION', `nvme: cannot write generation 3: nvmeDisks[0] (nvme0) ${msg}`);
  }
});

test.run();
