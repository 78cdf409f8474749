import { Type, type Static } from '@sinclair/typebox';
import { HclError } from '../../errors.ts';
import { SAVE_RANK, bytes, field, uint, type UnitDescriptor } from '../../state/index.ts';
import { UnitBase, type UnitContext } from './base.ts';
import { SINT_COUNT, type SintConfig } from './synic.ts';
import {
  EVENT_KINDS, EVENT_SLOTS, RUN_STATES, SINT_AUTO_EOI, SINT_MASKED, SINT_PENDING, VP_OFFSET, VP_STRIDE,
  checkVp, decodeVp, encodeVp, resetVp, viewOf, viewVp, type VpNamed,
} from './vp-layout.ts';

/**
 * `partition`: OpenHCL's partition unit (vmm_core/src/partition_unit.rs `mod save_restore`,
 * `state::Partition`, package "partition"): the partition's own blob and one `{vp_index, data}`
 * per VP, in index order, as `VpSet::save` writes them. openvmm_hcl's partition (`UhPartition`
 * via underhill_core wrapped_partition.rs) saves `NoSavedState`, so the partition blob is empty;
 * each VP's data is bytes of the fixed layout in vp-layout.ts. The live state is one byte array
 * for all VPs at that stride: a save is a slice per VP, a restore checks each VP's bytes once and
 * copies them in.
 */

/** One VP's entry, `state::Vp`. */
export const PartitionVpSchema = Type.Object({
  vpIndex: field(1, uint(32, 'VP index')),
  data: field(2, Type.Uint8Array({ minByteLength: VP_STRIDE, maxByteLength: VP_STRIDE, description: `the VP's state: ${VP_STRIDE} bytes of the per-VP layout (lib/hcl/units/vp-layout.ts)` })),
});
export type PartitionVp = Static<typeof PartitionVpSchema>;

/** The `partition` unit's saved state, `state::Partition`. */
export const PartitionStateSchema = Type.Object({
  partition: field(1, bytes(0, "the partition's own saved state: openvmm_hcl's UhPartition saves NoSavedState")),
  vps: field(2, Type.Array(PartitionVpSchema)),
});
export type PartitionState = Static<typeof PartitionStateSchema>;

/**
 * What `show` and `diff` print for a `partition` state: each VP's bytes by name (bytes that do not
 * fit the layout as they are). Given the state it is compared with, a VP whose bytes equal the
 * other's at the same position stays bytes, and a VP that differs shows only the fields whose
 * bytes differ: a restore that changes every VP's role compares one field per VP, not all of them.
 */
export function partitionView(state: unknown, other?: unknown): unknown {
  const s = state as Partial<PartitionState> | null;
  if (typeof s !== 'object' || s === null || !Array.isArray(s.vps)) return state;
  const others = (other as Partial<PartitionState> | null | undefined)?.vps;
  const otherAt = (i: number): Uint8Array | undefined => {
    const o: unknown = Array.isArray(others) ? (others[i] as { data?: unknown } | undefined)?.data : undefined;
    return o instanceof Uint8Array && o.length === VP_STRIDE ? o : undefined;
  };
  const named = (data: unknown, i: number): unknown => {
    if (!(data instanceof Uint8Array) || data.length !== VP_STRIDE) return data;
    const o = otherAt(i);
    if (o !== undefined && Buffer.compare(o, data) === 0) return data;
    try {
      checkVp(data, 0, 'data');
    } catch {
      return data;
    }
    return viewVp(data, 0, o);
  };
  return { ...s, vps: s.vps.map((e, i) => (typeof e === 'object' && e !== null ? { ...e, data: named(e.data, i) } : e)) };
}

/** Descriptor of the `partition` unit (new in generation 4; it holds what `vp` and `synic` held). */
export const PARTITION_UNIT: UnitDescriptor = {
  name: 'partition',
  package: 'partition',
  message: 'Partition',
  saveRank: SAVE_RANK.other,
  generations: [{ generation: 4, schema: PartitionStateSchema, wire: 'fields' }],
  view: partitionView,
};

/** The bytes of `n` VPs at reset. */
function resetBytes(n: number): Uint8Array {
  const one = new Uint8Array(VP_STRIDE);
  encodeVp(resetVp(), one, 0, 'partition: reset');
  const out = new Uint8Array(n * VP_STRIDE);
  for (let i = 0; i < n; i++) out.set(one, i * VP_STRIDE);
  return out;
}

/** The partition's VPs; operations mirror what the VP loop, APIC emulation and SynIC do. */
export class PartitionUnit extends UnitBase<PartitionState> {
  #bytes: Uint8Array;
  #view: DataView;

  constructor(ctx: UnitContext) {
    super(PARTITION_UNIT, ctx);
    this.#bytes = resetBytes(ctx.topology.vps.length);
    this.#view = viewOf(this.#bytes);
  }

  defaultState(): PartitionState {
    return PartitionUnit.#stateOf(resetBytes(this.ctx.topology.vps.length));
  }

  static #stateOf(b: Uint8Array): PartitionState {
    const n = b.length / VP_STRIDE;
    const vps: PartitionVp[] = new Array(n);
    for (let i = 0; i < n; i++) vps[i] = { vpIndex: i, data: b.slice(i * VP_STRIDE, (i + 1) * VP_STRIDE) };
    return { partition: new Uint8Array(0), vps };
  }

  /** One copy per VP of its bytes, in index order (`VpSet::save`). */
  override save(): PartitionState {
    return PartitionUnit.#stateOf(this.#bytes);
  }

  /** A copy, as `save` (the live state is bytes, not an object to look into; see `vpState`). */
  override view(): Readonly<PartitionState> {
    return this.save();
  }

  /**
   * Restores as `VpSet::restore` (vmm_core/src/partition_unit/vp_set.rs): an entry for a VP index
   * the partition does not have fails with UnknownEntryId("vpN") (STATE_UNKNOWN_ENTRY); a VP with
   * no entry keeps its fresh state. Each VP's bytes are checked against the layout (STATE_SCHEMA)
   * before anything changes; the schema (lengths) was checked by the caller.
   */
  override restore(state: PartitionState): void {
    const n = this.ctx.topology.vps.length;
    const out = resetBytes(n);
    const seen = new Uint8Array(n);
    state.vps.forEach((e, i) => {
      const vp = e.vpIndex;
      if (vp >= n) {
        throw new HclError('STATE_UNKNOWN_ENTRY', `${this.name}: restore failed: unknown entry id: vp${vp} (the partition has ${n} vps)`, { context: { unit: this.name, entry: `vp${vp}` } });
      }
      if (seen[vp] === 1) throw this.invalid(`restore: vp ${vp} saved twice`);
      seen[vp] = 1;
      checkVp(e.data, 0, `${this.name}: vps[${i}].data`);
      out.set(e.data, vp * VP_STRIDE);
    });
    this.#bytes = out;
    this.#view = viewOf(out);
  }

  /** VP `vp` by name (a decoded copy). */
  vpState(vp: number): VpNamed {
    return decodeVp(this.#bytes, this.#at(vp, 'read'));
  }

  /** Marks a not-yet-started VP as a sidecar VP (the shim's split, applied at boot). */
  assignSidecar(vp: number): void {
    const at = this.#at(vp, 'assign sidecar');
    if (this.#bytes[at + VP_OFFSET.runState] !== 0) throw this.invalid(`assign sidecar: vp ${vp} already started`);
    this.#bytes[at + VP_OFFSET.role] = 1;
  }

  /** Onlines a sidecar VP into Linux; one way, as in OpenHCL. */
  convertToLinux(vp: number): void {
    const at = this.#at(vp, 'convert');
    if (this.#bytes[at + VP_OFFSET.role] !== 1) throw this.invalid(`convert: vp ${vp} is already a linux vp`);
    this.#bytes[at + VP_OFFSET.role] = 0;
  }

  /**
   * Post-restore fix-up: where a VP runs (Linux or sidecar) is decided by the boot that just
   * happened (the shim's split, CPUs with outstanding I/O, OPENHCL_SIDECAR), not by the snapshot.
   */
  applyBootRoles(linux: ReadonlySet<number>): void {
    const n = this.#bytes.length / VP_STRIDE;
    for (let i = 0; i < n; i++) this.#bytes[i * VP_STRIDE + VP_OFFSET.role] = linux.has(i) ? 0 : 1;
  }

  /** Starts a VP in reset (startup IPI) or resumes a stopped one. */
  run(vp: number): void {
    const at = this.#at(vp, 'run');
    if (this.#bytes[at + VP_OFFSET.runState] === 1) throw this.invalid(`run: vp ${vp} is already running`);
    this.#bytes[at + VP_OFFSET.runState] = 1;
  }

  /** Guest executed HLT: the VP waits for an interrupt. */
  halt(vp: number): void {
    this.#bytes[this.#running(vp, 'halt') + VP_OFFSET.halted] = 1;
  }

  /** Queues a fixed interrupt; a halted VP wakes up. Duplicates coalesce as in an IRR. */
  raiseInterrupt(vp: number, vector: number): void {
    const at = this.#at(vp, 'raise interrupt');
    if (!Number.isInteger(vector) || vector < 16 || vector > 255) throw this.invalid(`raise interrupt: vector ${vector} not in 16..255`);
    this.#bytes[at + VP_OFFSET.irr + (vector >> 3)]! |= 1 << (vector & 7);
    this.#bytes[at + VP_OFFSET.halted] = 0;
  }

  /** Delivers the highest pending vector (APIC priority order) and returns it. */
  acknowledge(vp: number): number {
    const at = this.#running(vp, 'acknowledge') + VP_OFFSET.irr;
    for (let byte = 31; byte >= 2; byte--) {
      const bits = this.#bytes[at + byte]!;
      if (bits === 0) continue;
      const bit = 31 - Math.clz32(bits);
      this.#bytes[at + byte] = bits & ~(1 << bit);
      return byte * 8 + bit;
    }
    throw this.invalid(`acknowledge: vp ${vp} has no pending interrupt`);
  }

  /** Queues an event (NMI, exception, intercept) for injection; wakes a halted VP. At most `EVENT_SLOTS` wait. */
  injectEvent(vp: number, kind: (typeof EVENT_KINDS)[number], vector: number): void {
    const at = this.#at(vp, 'inject event');
    if (!Number.isInteger(vector) || vector < 0 || vector > 255) throw this.invalid(`inject event: vector ${vector} not in 0..255`);
    const count = this.#bytes[at + VP_OFFSET.eventCount]!;
    if (count >= EVENT_SLOTS) throw this.invalid(`inject event: vp ${vp} already has ${EVENT_SLOTS} events pending (PendingEvent0/1)`);
    this.#bytes[at + VP_OFFSET.events + 2 * count] = EVENT_KINDS.indexOf(kind);
    this.#bytes[at + VP_OFFSET.events + 2 * count + 1] = vector;
    this.#bytes[at + VP_OFFSET.eventCount] = count + 1;
    this.#bytes[at + VP_OFFSET.halted] = 0;
  }

  /** Injects the oldest pending event. */
  deliverEvent(vp: number): void {
    const at = this.#running(vp, 'deliver event');
    const count = this.#bytes[at + VP_OFFSET.eventCount]!;
    if (count === 0) throw this.invalid(`deliver event: vp ${vp} has no pending event`);
    const slots = at + VP_OFFSET.events;
    this.#bytes.copyWithin(slots, slots + 2, slots + 2 * EVENT_SLOTS);
    this.#bytes.fill(0, slots + 2 * (EVENT_SLOTS - 1), slots + 2 * EVENT_SLOTS); // unused slots stay zero
    this.#bytes[at + VP_OFFSET.eventCount] = count - 1;
  }

  /** Switches the VP's active VTL (a VTL call or return). */
  switchVtl(vp: number, vtl: 0 | 2): void {
    const at = this.#running(vp, 'switch vtl');
    if (this.#bytes[at + VP_OFFSET.vtl] === vtl) throw this.invalid(`switch vtl: vp ${vp} already in vtl${vtl}`);
    this.#bytes[at + VP_OFFSET.vtl] = vtl;
  }

  /** Pauses every running VP before a save. */
  stop(): void {
    this.#swapRunState(1, 2);
  }

  /** Resumes every VP the paravisor stopped. */
  start(): void {
    this.#swapRunState(2, 1);
  }

  /** Guest writes SCONTROL. */
  setScontrol(vp: number, enabled: boolean): void {
    this.#bytes[this.#at(vp, 'scontrol') + VP_OFFSET.scontrol] = enabled ? 1 : 0;
  }

  /** Guest writes SIMP: `gpa` null disables the message page (the address stays, as in the MSR). */
  setMessagePage(vp: number, gpa: bigint | null): void {
    this.#setPage(this.#at(vp, 'simp') + VP_OFFSET.simp, gpa, 'simp');
  }

  /** Guest writes SIEFP: `gpa` null disables the event-flags page. */
  setEventPage(vp: number, gpa: bigint | null): void {
    this.#setPage(this.#at(vp, 'siefp') + VP_OFFSET.siefp, gpa, 'siefp');
  }

  /** Guest writes SINTx. Vectors 0..15 are reserved by the TLFS. */
  configureSint(vp: number, sint: number, cfg: SintConfig): void {
    const at = this.#sint(vp, sint, 'sint');
    if (!Number.isInteger(cfg.vector) || cfg.vector < 16 || cfg.vector > 255) {
      throw this.invalid(`sint${sint} on vp ${vp}: vector ${cfg.vector} not in 16..255`);
    }
    this.#bytes[at] = cfg.vector;
    const pending = this.#bytes[at + 1]! & SINT_PENDING;
    this.#bytes[at + 1] = pending | (cfg.masked ? SINT_MASKED : 0) | (cfg.autoEoi ? SINT_AUTO_EOI : 0);
  }

  /**
   * Host posts a message to a SINT. Needs SynIC and the message page enabled and the SINT
   * unmasked; returns false when the slot is busy (the sender must retry after EOM).
   */
  postMessage(vp: number, sint: number): boolean {
    const base = this.#at(vp, 'post');
    const at = this.#sint(vp, sint, 'post');
    const simpEnabled = (this.#bytes[base + VP_OFFSET.simp]! & 1) === 1;
    if (this.#bytes[base + VP_OFFSET.scontrol] !== 1 || !simpEnabled) throw this.invalid(`post: vp ${vp} has no active message page`);
    const flags = this.#bytes[at + 1]!;
    if ((flags & SINT_MASKED) !== 0) throw this.invalid(`post: sint${sint} on vp ${vp} is masked`);
    if ((flags & SINT_PENDING) !== 0) return false;
    this.#bytes[at + 1] = flags | SINT_PENDING;
    return true;
  }

  /** Guest consumed the message in `sint`'s slot and signalled EOM. */
  endOfMessage(vp: number, sint: number): void {
    const at = this.#sint(vp, sint, 'eom');
    const flags = this.#bytes[at + 1]!;
    if ((flags & SINT_PENDING) === 0) throw this.invalid(`eom: sint${sint} on vp ${vp} has no message`);
    this.#bytes[at + 1] = flags & ~SINT_PENDING;
  }

  #swapRunState(from: number, to: number): void {
    const n = this.#bytes.length / VP_STRIDE;
    for (let i = 0; i < n; i++) if (this.#bytes[i * VP_STRIDE + VP_OFFSET.runState] === from) this.#bytes[i * VP_STRIDE + VP_OFFSET.runState] = to;
  }

  /** Byte offset of VP `vp`; HCL_DEVICE_INVALID when the partition has no such VP. */
  #at(vp: number, where: string): number {
    this.checkVp(vp, where);
    return vp * VP_STRIDE;
  }

  #running(vp: number, where: string): number {
    const at = this.#at(vp, where);
    const s = this.#bytes[at + VP_OFFSET.runState]!;
    if (s !== 1) throw this.invalid(`${where}: vp ${vp} is not running (${RUN_STATES[s]})`);
    return at;
  }

  /** Byte offset of SINT `sint` of VP `vp`. */
  #sint(vp: number, sint: number, where: string): number {
    const at = this.#at(vp, where);
    if (!Number.isInteger(sint) || sint < 0 || sint >= SINT_COUNT) throw this.invalid(`sint ${sint} does not exist (have ${SINT_COUNT})`);
    return at + VP_OFFSET.sints + 2 * sint;
  }

  #setPage(at: number, gpa: bigint | null, where: string): void {
    const old = this.#view.getBigUint64(at, true);
    if (gpa === null) {
      this.#view.setBigUint64(at, old & ~1n, true);
      return;
    }
    if (gpa < 0n || gpa >= 1n << 64n || (gpa & 0xfffn) !== 0n) throw this.invalid(`${where}: gpa 0x${gpa.toString(16)} is not a page address`);
    this.#view.setBigUint64(at, gpa | 1n, true);
  }
}
