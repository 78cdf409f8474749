import { HclError, type HclErrorCode } from '../lib/errors.ts';
import type { HclUnits } from '../lib/hcl/index.ts';
import type { HvPartition } from '../lib/hv/index.ts';

/**
 * The deterministic guest workload: a seeded PRNG picks one operation per step by weight (UART
 * traffic, NVMe submissions and completions, VMBus channel and GPADL traffic, SynIC and VP
 * events, hypervisor register writes, clock ticks) and applies it through the units' own
 * operations. The same seed and step count always give the same states.
 */

/** A workload: PRNG seed (u32) and number of steps. */
export interface WorkloadSpec {
  seed: number;
  steps: number;
}

/** Operation kinds a step can apply. */
export const OP_KINDS = ['uart', 'nvme', 'vmbus', 'synic', 'vp', 'register', 'clock'] as const;
export type OpKind = (typeof OP_KINDS)[number];

/** Relative weights of the operation kinds. */
export const OP_WEIGHTS: Readonly<Record<OpKind, number>> = { uart: 4, nvme: 6, vmbus: 4, synic: 2, vp: 2, register: 3, clock: 2 };

/** What a run did: applied operations per kind. */
export interface WorkloadReport {
  seed: number;
  steps: number;
  ops: Record<OpKind, number>;
}

/** Largest accepted step count. */
export const MAX_STEPS = 10_000_000;

/** mulberry32: a small, fast, well-distributed 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Parses `SEED:STEPS` (seed decimal or 0x-hex u32, steps 0..10,000,000). `code` says where the
 * text came from: USAGE for a command-line flag, OVERRIDE_INVALID for a restore override.
 */
export function parseWorkload(text: string, code: Extract<HclErrorCode, 'USAGE' | 'OVERRIDE_INVALID'> = 'USAGE'): WorkloadSpec {
  const m = /^\s*(0x[0-9a-fA-F]+|\d+)\s*:\s*(\d+)\s*$/.exec(text);
  if (m === null) throw new HclError(code, `workload ${JSON.stringify(text)}: expected SEED:STEPS, e.g. 42:1000`);
  const seed = Number(m[1]);
  const steps = Number(m[2]);
  if (!Number.isSafeInteger(seed) || seed > 0xffff_ffff) throw new HclError(code, `workload ${JSON.stringify(text)}: seed ${m[1]} is not a u32`);
  if (!Number.isSafeInteger(steps) || steps > MAX_STEPS) throw new HclError(code, `workload ${JSON.stringify(text)}: steps ${m[2]} exceeds ${MAX_STEPS}`);
  return { seed, steps };
}

/** Runs `spec.steps` operations against `units` and `hv`; never throws for a valid partition. */
export function runWorkload(units: HclUnits, hv: HvPartition, spec: WorkloadSpec): WorkloadReport {
  const rng = mulberry32(spec.seed);
  const int = (n: number) => Math.floor(rng() * n);
  const pick = <T>(xs: readonly T[]): T | undefined => (xs.length === 0 ? undefined : xs[int(xs.length)]);
  const ops = makeOps(units, hv, int, pick);
  const total = OP_KINDS.reduce((n, k) => n + OP_WEIGHTS[k], 0);
  const report: WorkloadReport = { seed: spec.seed, steps: spec.steps, ops: Object.fromEntries(OP_KINDS.map((k) => [k, 0])) as Record<OpKind, number> };
  for (let step = 0; step < spec.steps; step++) {
    let r = int(total);
    let first = 0;
    while (r >= OP_WEIGHTS[OP_KINDS[first] ?? 'register']) r -= OP_WEIGHTS[OP_KINDS[first++] ?? 'register'];
    // An inapplicable kind (no device of that kind, nothing to complete) yields to the next one;
    // register writes always apply, so every step applies exactly one operation.
    for (let k = 0; k < OP_KINDS.length; k++) {
      const kind = OP_KINDS[(first + k) % OP_KINDS.length] ?? 'register';
      if (ops[kind]()) {
        report.ops[kind]++;
        break;
      }
    }
  }
  return report;
}

type Int = (n: number) => number;
type Pick = <T>(xs: readonly T[]) => T | undefined;

function makeOps(u: HclUnits, hv: HvPartition, int: Int, pick: Pick): Record<OpKind, () => boolean> {
  const topo = hv.topology;
  const vpCount = topo.vps.length;
  const ramBase = BigInt(topo.nodes[0]?.memory[0]?.base ?? 0);
  const ramPages = Math.max(1, Math.floor((topo.nodes[0]?.memory[0]?.size ?? 4096) / 4096) - 64);
  const page = () => ramBase + BigInt(int(ramPages)) * 4096n;
  return {
    uart: () => {
      if (u.serial.length === 0) return false;
      const uart = u.serial[int(u.serial.length)]!;
      const a = int(5);
      if (a === 0) uart.write(int(256));
      else if (a === 1) uart.receive(int(256));
      else if (a === 2) uart.readReg(pick([0, 2, 5]) ?? 5);
      else if (a === 3) uart.writeReg(1, int(16)); // IER
      else uart.writeReg(2, pick([0x00, 0x01, 0x07]) ?? 0); // FCR
      return true;
    },
    nvme: () => {
      const ctrls = u.nvme.view().controllers;
      const ci = int(ctrls.length);
      const c = ctrls[ci];
      if (c === undefined) return false;
      if (c.admin === null) {
        u.nvme.enable(ci, page() + 4096n);
        return true;
      }
      const queues = [c.admin, ...c.ioQueues];
      const a = int(10);
      // Completions and reaps outweigh submissions so queues drain as well as fill.
      if (a === 0 && c.ioQueues.length < u.nvme.maxIoQueues(ci)) u.nvme.createIoQueue(ci, int(vpCount));
      else if (a <= 3) {
        const q = pick(queues);
        const cid = int(0x10000);
        if (q === undefined || q.inFlight.includes(cid)) return false;
        u.nvme.submit(ci, q.qid, cid);
      } else if (a <= 7) {
        const q = pick(queues.filter((x) => x.inFlight.length > 0));
        const cid = q === undefined ? undefined : pick(q.inFlight);
        if (q === undefined || cid === undefined) return false;
        u.nvme.complete(ci, q.qid, cid);
      } else if (a === 8) {
        const q = pick(queues);
        if (q === undefined) return false;
        u.nvme.reap(ci, q.qid);
      } else {
        const q = pick(c.ioQueues.filter((x) => x.inFlight.length === 0));
        if (q === undefined) return false;
        u.nvme.deleteIoQueue(ci, q.qid);
      }
      return true;
    },
    vmbus: () => {
      const server = u.vmbus.view().server.state;
      const ch = int(server.channels.length);
      if (ch >= server.channels.length) return false;
      const a = int(6);
      const gpadls = u.vmbus.gpadlIds(ch);
      const ringId = u.vmbus.ringGpadlId(ch);
      const free = gpadls.filter((id) => id !== ringId);
      const ring = pick(gpadls);
      if (ring === undefined || (a === 0 && gpadls.length < 4)) {
        const id = 1 + server.gpadls.reduce((n, g) => Math.max(n, g.id), 0);
        // Each GPADL id gets its own 16-page slot of RAM (rings hold at most 16 pages), so no two
        // live GPADLs share a ring control page in guest memory.
        const slot = BigInt(id % Math.max(1, Math.floor(ramPages / 16))) * 16n * 4096n;
        u.vmbus.createGpadl(ch, id, [{ gpa: ramBase + slot, pages: 2 * (2 + int(7)) }]);
      } else if (a === 1 && free.length > 0) u.vmbus.teardownGpadl(ch, free[int(free.length)] ?? 0);
      else if (ringId === undefined) u.vmbus.open(ch, int(vpCount), ring);
      else if (a === 2) u.vmbus.close(ch);
      else if (a === 3) u.vmbus.retarget(ch, int(vpCount));
      else if (a === 4) u.vmbus.drain(ch, int(2) === 0 ? 'in' : 'out');
      else u.vmbus.write(ch, int(2) === 0 ? 'in' : 'out', 1 + int(512));
      return true;
    },
    synic: () => {
      const vp = int(vpCount);
      if (vp >= vpCount) return false;
      const s = u.partition.vpState(vp).synic;
      const sint = int(16);
      const slot = s.sints[sint];
      if (!s.scontrol) u.partition.setScontrol(vp, true);
      else if (!s.messagePageEnabled) u.partition.setMessagePage(vp, page());
      else if (!s.eventPageEnabled) u.partition.setEventPage(vp, page());
      else if (slot === undefined || slot.masked) u.partition.configureSint(vp, sint, { vector: 16 + int(240), masked: false, autoEoi: int(2) === 0 });
      else if (slot.messagePending) u.partition.endOfMessage(vp, sint);
      else u.partition.postMessage(vp, sint);
      return true;
    },
    vp: () => {
      const vp = int(vpCount);
      if (vp >= vpCount) return false;
      const e = u.partition.vpState(vp).vp;
      if (e.runState !== 'running') u.partition.run(vp);
      else {
        const a = int(4);
        if (a === 0) u.partition.halt(vp);
        else if (a === 1 || e.pendingInterrupts.length === 0) u.partition.raiseInterrupt(vp, 16 + int(240));
        else u.partition.acknowledge(vp);
      }
      return true;
    },
    register: () => {
      const vp = int(vpCount);
      const name = pick(hv.registerNames()) ?? '';
      hv.setRegister(vp, name, (BigInt(int(0x1_0000_0000)) << 32n) | BigInt(int(0x1_0000_0000)));
      return true;
    },
    clock: () => {
      if (int(4) === 0) {
        u.rtc.writeIndex(0x0e + int(0x70)); // general-purpose CMOS bytes
        u.rtc.writeData(int(256));
      } else u.rtc.tick(BigInt(1 + int(2_000_000_000)));
      return true;
    },
  };
}
