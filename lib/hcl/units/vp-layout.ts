import { HclError } from '../../errors.ts';
import { SINT_COUNT, type Sint, type SynicVp } from './synic.ts';
import type { VpEntry } from './vp.ts';

/**
 * One VP's saved state in the `partition` unit (`state::Vp.data`), as bytes of a fixed layout,
 * version 1. OpenHCL's own per-VP blob is `ProcessorSavedState` (openhcl/virt_mshv_vtl/src/
 * processor/mshv/x64.rs, package underhill.partition): the shared GPRs, fx_state, DR0-3/DR6,
 * startup_suspend, crash registers, MTRRs and per-VTL SynIC message queues. The model keeps the
 * architectural registers in the hypervisor's part (lib/hv/layout.ts) and holds here what
 * openvmm_hcl's VP loop and SynIC keep per VP. Little-endian, `VP_STRIDE` bytes:
 *
 * | offset | width | name | encoding |
 * |---|---|---|---|
 * | 0 | 1 | version | `VP_LAYOUT_VERSION` |
 * | 1 | 1 | runState | 0 reset, 1 running, 2 stopped |
 * | 2 | 1 | vtl | active VTL: 0 or 2 |
 * | 3 | 1 | role | 0 linux, 1 sidecar |
 * | 4 | 1 | halted | 0 or 1 |
 * | 5 | 1 | scontrol | SCONTROL enable bit: 0 or 1 |
 * | 6 | 1 | eventCount | pending events, 0..`EVENT_SLOTS` |
 * | 7 | 1 | reserved | 0 |
 * | 8 | 8 | simp | SIMP MSR: base GPA (bits 63:12) \| enable (bit 0), bits 11:1 zero |
 * | 16 | 8 | siefp | SIEFP MSR, as SIMP |
 * | 24 | 32 | irr | pending fixed interrupts: bit v (byte v>>3, bit v&7) for vector v; 0..15 zero |
 * | 56 | 2 × 16 | sints | per SINT: vector (u8), flags (u8: bit 0 masked, 1 auto-EOI, 2 message pending) |
 * | 88 | 2 × 2 | events | oldest first: kind (u8: 0 nmi, 1 exception, 2 intercept), vector (u8); unused slots zero |
 *
 * A state has exactly one byte string (unused bits and slots are zero), so two VPs in the same
 * state compare equal as bytes.
 */

/** Version of the layout, held in byte 0; a change of offsets or widths bumps it with an upgrader. */
export const VP_LAYOUT_VERSION = 1;

/** Pending events a VP holds: two, as the hypervisor's HvX64RegisterPendingEvent0/1 (hvdef). */
export const EVENT_SLOTS = 2;

/** Byte offset of each field of the layout. */
export const VP_OFFSET = {
  version: 0, runState: 1, vtl: 2, role: 3, halted: 4, scontrol: 5, eventCount: 6, reserved: 7,
  simp: 8, siefp: 16, irr: 24, sints: 56, events: 88,
} as const;

/** Bytes per VP. */
export const VP_STRIDE = VP_OFFSET.events + 2 * EVENT_SLOTS;

/** The byte ranges `[from, to)` each named field of a VP's view (`VpView`) is read from. */
export const VP_FIELD_BYTES: Readonly<Record<keyof VpView, ReadonlyArray<readonly [number, number]>>> = {
  runState: [[VP_OFFSET.runState, VP_OFFSET.runState + 1]],
  vtl: [[VP_OFFSET.vtl, VP_OFFSET.vtl + 1]],
  role: [[VP_OFFSET.role, VP_OFFSET.role + 1]],
  halted: [[VP_OFFSET.halted, VP_OFFSET.halted + 1]],
  pendingEvents: [[VP_OFFSET.eventCount, VP_OFFSET.eventCount + 1], [VP_OFFSET.events, VP_STRIDE]],
  pendingInterrupts: [[VP_OFFSET.irr, VP_OFFSET.sints]],
  synic: [[VP_OFFSET.scontrol, VP_OFFSET.scontrol + 1], [VP_OFFSET.simp, VP_OFFSET.irr], [VP_OFFSET.sints, VP_OFFSET.events]],
};

/** Run states by their byte value. */
export const RUN_STATES = ['reset', 'running', 'stopped'] as const;
/** Roles by their byte value. */
export const ROLES = ['linux', 'sidecar'] as const;
/** Event kinds by their byte value. */
export const EVENT_KINDS = ['nmi', 'exception', 'intercept'] as const;

/** SINT flag bits. */
export const SINT_MASKED = 1;
export const SINT_AUTO_EOI = 2;
export const SINT_PENDING = 4;

/** SIMP/SIEFP enable bit. */
const PAGE_ENABLE = 1n;
const PAGE_MASK = ~0xfffn & 0xffff_ffff_ffff_ffffn;

/** One VP decoded by name: the `vp` bookkeeping and the `synic` registers generation 3 kept in two units. */
export interface VpNamed {
  vp: Omit<VpEntry, 'index'>;
  synic: SynicVp;
}

/** What `show` and `diff` print for one VP's bytes. */
export type VpView = VpNamed['vp'] & { synic: SynicVp };

/** One VP at reset: never started, VTL0, Linux, SynIC disabled, every SINT masked with vector 0. */
export function resetVp(): VpNamed {
  const sint = (): Sint => ({ vector: 0, masked: true, autoEoi: false, messagePending: false });
  return {
    vp: { runState: 'reset', vtl: 0, role: 'linux', halted: false, pendingEvents: [], pendingInterrupts: [] },
    synic: {
      scontrol: false, messagePageEnabled: false, messagePageGpa: 0n, eventPageEnabled: false, eventPageGpa: 0n,
      sints: Array.from({ length: SINT_COUNT }, sint),
    },
  };
}

/** A DataView over all of `b`. */
export function viewOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

const bad = (where: string, what: string): never => {
  throw new HclError('STATE_SCHEMA', `${where}: ${what}`);
};

/**
 * Writes `v` as one VP's bytes at `at` of `out`. STATE_SCHEMA (prefixed `where`) when the layout
 * cannot hold it: more events than `EVENT_SLOTS`, an interrupt vector outside 16..255, a SIMP or
 * SIEFP address that is not a page address.
 */
export function encodeVp(v: VpNamed, out: Uint8Array, at: number, where: string): void {
  const d = viewOf(out);
  out.fill(0, at, at + VP_STRIDE);
  out[at + VP_OFFSET.version] = VP_LAYOUT_VERSION;
  out[at + VP_OFFSET.runState] = RUN_STATES.indexOf(v.vp.runState);
  out[at + VP_OFFSET.vtl] = v.vp.vtl;
  out[at + VP_OFFSET.role] = ROLES.indexOf(v.vp.role);
  out[at + VP_OFFSET.halted] = v.vp.halted ? 1 : 0;
  out[at + VP_OFFSET.scontrol] = v.synic.scontrol ? 1 : 0;
  const events = v.vp.pendingEvents;
  if (events.length > EVENT_SLOTS) bad(where, `${events.length} pending events, the per-VP layout holds ${EVENT_SLOTS} (PendingEvent0/1)`);
  out[at + VP_OFFSET.eventCount] = events.length;
  events.forEach((e, i) => {
    out[at + VP_OFFSET.events + 2 * i] = EVENT_KINDS.indexOf(e.kind);
    out[at + VP_OFFSET.events + 2 * i + 1] = e.vector;
  });
  const page = (gpa: bigint, enabled: boolean, name: string): bigint => {
    if ((gpa & ~PAGE_MASK) !== 0n) bad(where, `${name} gpa 0x${gpa.toString(16)} is not a page address`);
    return gpa | (enabled ? PAGE_ENABLE : 0n);
  };
  d.setBigUint64(at + VP_OFFSET.simp, page(v.synic.messagePageGpa, v.synic.messagePageEnabled, 'simp'), true);
  d.setBigUint64(at + VP_OFFSET.siefp, page(v.synic.eventPageGpa, v.synic.eventPageEnabled, 'siefp'), true);
  for (const vec of v.vp.pendingInterrupts) {
    if (vec < 16 || vec > 255) bad(where, `pending interrupt vector ${vec} not in 16..255`);
    out[at + VP_OFFSET.irr + (vec >> 3)]! |= 1 << (vec & 7);
  }
  v.synic.sints.forEach((s, i) => {
    out[at + VP_OFFSET.sints + 2 * i] = s.vector;
    out[at + VP_OFFSET.sints + 2 * i + 1] = (s.masked ? SINT_MASKED : 0) | (s.autoEoi ? SINT_AUTO_EOI : 0) | (s.messagePending ? SINT_PENDING : 0);
  });
}

/**
 * Checks the `VP_STRIDE` bytes at `at` of `b` against the layout: the version, every enumerated
 * byte in range, reserved bits and unused slots zero. STATE_SCHEMA `where.field: what` otherwise.
 */
export function checkVp(b: Uint8Array, at: number, where: string): void {
  const byte = (name: keyof typeof VP_OFFSET) => b[at + VP_OFFSET[name]]!;
  const range = (name: keyof typeof VP_OFFSET, ok: boolean, what: string) => {
    if (!ok) bad(`${where}.${name}`, `${byte(name)} is not ${what}`);
  };
  range('version', byte('version') === VP_LAYOUT_VERSION, `layout version ${VP_LAYOUT_VERSION}`);
  range('runState', byte('runState') < RUN_STATES.length, `a run state (0..${RUN_STATES.length - 1})`);
  range('vtl', byte('vtl') === 0 || byte('vtl') === 2, 'vtl 0 or 2');
  range('role', byte('role') < ROLES.length, 'a role (0 linux, 1 sidecar)');
  range('halted', byte('halted') <= 1, '0 or 1');
  range('scontrol', byte('scontrol') <= 1, '0 or 1');
  range('eventCount', byte('eventCount') <= EVENT_SLOTS, `at most ${EVENT_SLOTS}`);
  range('reserved', byte('reserved') === 0, 'zero');
  const d = viewOf(b);
  for (const name of ['simp', 'siefp'] as const) {
    const msr = d.getBigUint64(at + VP_OFFSET[name], true);
    if ((msr & 0xffen) !== 0n) bad(`${where}.${name}`, `0x${msr.toString(16)} has reserved bits 11:1 set`);
  }
  if (b[at + VP_OFFSET.irr] !== 0 || b[at + VP_OFFSET.irr + 1] !== 0) bad(`${where}.irr`, 'vectors 0..15 cannot be pending');
  for (let i = 0; i < SINT_COUNT; i++) {
    if ((b[at + VP_OFFSET.sints + 2 * i + 1]! & ~(SINT_MASKED | SINT_AUTO_EOI | SINT_PENDING)) !== 0) bad(`${where}.sints[${i}]`, 'unknown flag bits');
  }
  const count = byte('eventCount');
  for (let i = 0; i < EVENT_SLOTS; i++) {
    const kind = b[at + VP_OFFSET.events + 2 * i]!;
    const used = i < count;
    if (used && kind >= EVENT_KINDS.length) bad(`${where}.events[${i}]`, `kind ${kind} is not an event kind (0..${EVENT_KINDS.length - 1})`);
    if (!used && (kind !== 0 || b[at + VP_OFFSET.events + 2 * i + 1] !== 0)) bad(`${where}.events[${i}]`, 'an unused slot is not zero');
  }
}

// One reader per field of the view, so a comparison decodes only the fields whose bytes differ.
const READ: { readonly [K in keyof VpView]: (b: Uint8Array, at: number) => VpView[K] } = {
  runState: (b, at) => RUN_STATES[b[at + VP_OFFSET.runState]!]!,
  vtl: (b, at) => (b[at + VP_OFFSET.vtl] === 2 ? 2 : 0),
  role: (b, at) => ROLES[b[at + VP_OFFSET.role]!]!,
  halted: (b, at) => b[at + VP_OFFSET.halted] === 1,
  pendingEvents: (b, at) => Array.from({ length: b[at + VP_OFFSET.eventCount]! }, (_, i) => ({
    kind: EVENT_KINDS[b[at + VP_OFFSET.events + 2 * i]!]!, vector: b[at + VP_OFFSET.events + 2 * i + 1]!,
  })),
  pendingInterrupts: (b, at) => {
    const out: number[] = [];
    for (let v = 16; v < 256; v++) if ((b[at + VP_OFFSET.irr + (v >> 3)]! & (1 << (v & 7))) !== 0) out.push(v);
    return out;
  },
  synic: (b, at) => {
    const d = viewOf(b);
    const simp = d.getBigUint64(at + VP_OFFSET.simp, true);
    const siefp = d.getBigUint64(at + VP_OFFSET.siefp, true);
    const sints = Array.from({ length: SINT_COUNT }, (_, i): Sint => {
      const f = b[at + VP_OFFSET.sints + 2 * i + 1]!;
      return { vector: b[at + VP_OFFSET.sints + 2 * i]!, masked: (f & SINT_MASKED) !== 0, autoEoi: (f & SINT_AUTO_EOI) !== 0, messagePending: (f & SINT_PENDING) !== 0 };
    });
    return {
      scontrol: b[at + VP_OFFSET.scontrol] === 1,
      messagePageEnabled: (simp & PAGE_ENABLE) !== 0n, messagePageGpa: simp & PAGE_MASK,
      eventPageEnabled: (siefp & PAGE_ENABLE) !== 0n, eventPageGpa: siefp & PAGE_MASK,
      sints,
    };
  },
};

/** The VP at `at` of `b` by name (bytes already checked). */
export function decodeVp(b: Uint8Array, at: number): VpNamed {
  const { synic, ...vp } = viewVp(b, at) as VpView; // without `other`, every field
  return { vp, synic };
}

/**
 * The VP at `at` of `b` as `show` prints it (bytes already checked). With `other` (another VP's
 * bytes), only the fields whose bytes differ from it (`VP_FIELD_BYTES`).
 */
export function viewVp(b: Uint8Array, at: number, other?: Uint8Array): Partial<VpView> {
  const out: Partial<VpView> = {};
  for (const k of Object.keys(READ) as Array<keyof VpView>) {
    if (other !== undefined && !VP_FIELD_BYTES[k].some(([from, to]) => differs(b, at, other, from, to))) continue;
    Object.assign(out, { [k]: READ[k](b, at) });
  }
  return out;
}

function differs(b: Uint8Array, at: number, o: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[at + i] !== o[i]) return true;
  return false;
}
