import { Type, type Static } from '@sinclair/typebox';
import { SAVE_RANK, field, fieldsGeneration, nameKeyed, u64, uint, type UnitDescriptor } from '../../state/index.ts';
import { UnitBase, type UnitContext } from './base.ts';

/**
 * `synic`: the Hyper-V synthetic interrupt controller of each VP (TLFS "SynIC"): SCONTROL, the
 * message page (SIMP) and event-flags page (SIEFP), and 16 SINT registers. A message posted to
 * an unmasked SINT stays pending in its message slot until the guest signals EOM.
 */

/** Number of synthetic interrupt sources per VP. */
export const SINT_COUNT = 16;

/** One SINTx register plus whether its message slot is occupied. */
export const SintSchema = Type.Object({
  vector: field(1, uint(8, 'interrupt vector, 16..255 once programmed')),
  masked: field(2, Type.Boolean()),
  autoEoi: field(3, Type.Boolean()),
  /** A message sits in this SINT's slot of the message page, awaiting EOM. */
  messagePending: field(4, Type.Boolean()),
});
export type Sint = Static<typeof SintSchema>;

/** One VP's SynIC. */
export const SynicVpSchema = Type.Object({
  scontrol: field(1, Type.Boolean({ description: 'SCONTROL enable bit' })),
  messagePageEnabled: field(2, Type.Boolean()),
  messagePageGpa: field(3, u64('SIMP base GPA, page aligned')),
  eventPageEnabled: field(4, Type.Boolean()),
  eventPageGpa: field(5, u64('SIEFP base GPA, page aligned')),
  sints: field(6, Type.Array(SintSchema, { minItems: SINT_COUNT, maxItems: SINT_COUNT })),
});
export type SynicVp = Static<typeof SynicVpSchema>;

/** The `synic` unit's saved state. */
export const SynicStateSchema = Type.Object({ vps: field(1, Type.Array(SynicVpSchema)) });
export type SynicState = Static<typeof SynicStateSchema>;

/** Descriptor of the `synic` unit. */
export const SYNIC_UNIT: UnitDescriptor = {
  name: 'synic',
  package: 'openvmm.synic',
  message: 'SavedState',
  saveRank: SAVE_RANK.other,
  generations: [{ generation: 1, schema: nameKeyed(SynicStateSchema) }, fieldsGeneration(SynicStateSchema)],
};

/** Programming of a SINT register. */
export interface SintConfig {
  vector: number;
  masked: boolean;
  autoEoi: boolean;
}

/** Per-VP SynIC state; operations are the guest's MSR writes and the host's message posts. */
export class SynicUnit extends UnitBase<SynicState> {
  constructor(ctx: UnitContext) {
    super(SYNIC_UNIT, ctx);
  }

  defaultState(): SynicState {
    // Architectural reset: everything disabled, every SINT masked with vector 0.
    const sint = (): Sint => ({ vector: 0, masked: true, autoEoi: false, messagePending: false });
    return {
      vps: this.ctx.topology.vps.map(() => ({
        scontrol: false,
        messagePageEnabled: false,
        messagePageGpa: 0n,
        eventPageEnabled: false,
        eventPageGpa: 0n,
        sints: Array.from({ length: SINT_COUNT }, sint),
      })),
    };
  }

  /** Guest writes SCONTROL. */
  setScontrol(vp: number, enabled: boolean): void {
    this.#vp(vp, 'scontrol').scontrol = enabled;
  }

  /** Guest writes SIMP: `gpa` null disables the message page. */
  setMessagePage(vp: number, gpa: bigint | null): void {
    const s = this.#vp(vp, 'simp');
    s.messagePageEnabled = gpa !== null;
    if (gpa !== null) s.messagePageGpa = this.#page(gpa, 'simp');
  }

  /** Guest writes SIEFP: `gpa` null disables the event-flags page. */
  setEventPage(vp: number, gpa: bigint | null): void {
    const s = this.#vp(vp, 'siefp');
    s.eventPageEnabled = gpa !== null;
    if (gpa !== null) s.eventPageGpa = this.#page(gpa, 'siefp');
  }

  /** Guest writes SINTx. Vectors 0..15 are reserved by the TLFS. */
  configureSint(vp: number, sint: number, cfg: SintConfig): void {
    const s = this.#sint(vp, sint, 'sint');
    if (!Number.isInteger(cfg.vector) || cfg.vector < 16 || cfg.vector > 255) {
      throw this.invalid(`sint${sint} on vp ${vp}: vector ${cfg.vector} not in 16..255`);
    }
    s.vector = cfg.vector;
    s.masked = cfg.masked;
    s.autoEoi = cfg.autoEoi;
  }

  /**
   * Host posts a message to a SINT. Needs SynIC and the message page enabled and the SINT
   * unmasked; returns false when the slot is busy (the sender must retry after EOM).
   */
  postMessage(vp: number, sint: number): boolean {
    const v = this.#vp(vp, 'post');
    const s = this.#sint(vp, sint, 'post');
    if (!v.scontrol || !v.messagePageEnabled) throw this.invalid(`post: vp ${vp} has no active message page`);
    if (s.masked) throw this.invalid(`post: sint${sint} on vp ${vp} is masked`);
    if (s.messagePending) return false;
    s.messagePending = true;
    return true;
  }

  /** Guest consumed the message in `sint`'s slot and signalled EOM. */
  endOfMessage(vp: number, sint: number): void {
    const s = this.#sint(vp, sint, 'eom');
    if (!s.messagePending) throw this.invalid(`eom: sint${sint} on vp ${vp} has no message`);
    s.messagePending = false;
  }

  // Entries are per VP in index order (the position is the VP index), as the partition unit's per-VP blobs.
  protected override rehydrate(s: SynicState): SynicState {
    return { vps: this.restoreVps(s.vps, (_e, i) => i, this.defaultState().vps) };
  }

  #vp(vp: number, where: string): SynicVp {
    this.checkVp(vp, where);
    return this.at(this.state.vps, vp, 'vp');
  }

  #sint(vp: number, sint: number, where: string): Sint {
    return this.at(this.#vp(vp, where).sints, sint, 'sint');
  }

  #page(gpa: bigint, where: string): bigint {
    if (gpa < 0n || gpa >= 1n << 64n || (gpa & 0xfffn) !== 0n) throw this.invalid(`${where}: gpa 0x${gpa.toString(16)} is not a page address`);
    return gpa;
  }
}
