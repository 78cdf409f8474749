import { Type, type Static } from '@sinclair/typebox';
import { HclError } from '../../errors.ts';
import { checkSchema, u64, uint } from '../../state/index.ts';

/**
 * The VMBus ring positions as they really live: in VTL0 guest memory, in the first (control)
 * page of each ring, whose first two words are `inp` (where the producer writes next) and `outp`
 * (where the consumer reads next), as vmbus_ring's `Control` lays them out. The host keeps VTL0
 * memory across servicing, so these are not part of OpenHCL's saved state; hclckpt stores them
 * as the snapshot's host-side `vtl0` part and hands them back before usermode restores.
 */

/** One ring control page: its GPA and the two indices (byte offsets into the ring's data). */
export const RingControlSchema = Type.Object({
  gpa: u64('page-aligned GPA of the ring control page'),
  inp: uint(32, 'write index'),
  outp: uint(32, 'read index'),
});
export type RingControl = Static<typeof RingControlSchema>;

/** The `vtl0` part: every ring control page the guest has set up, by ascending GPA. */
export const Vtl0RingsSchema = Type.Object({ rings: Type.Array(RingControlSchema, { maxItems: 1 << 20 }) });
export type Vtl0Rings = Static<typeof Vtl0RingsSchema>;

/** The ring control pages in VTL0 memory; a page never set up reads as zeros. */
export class GuestRingPages {
  #pages = new Map<bigint, { inp: number; outp: number }>();

  /** The indices in the control page at `gpa`. */
  get(gpa: bigint): { inp: number; outp: number } {
    return { ...(this.#pages.get(gpa) ?? { inp: 0, outp: 0 }) };
  }

  /** The guest (or the server, for its own index) writes the control page at `gpa`. */
  set(gpa: bigint, v: { inp: number; outp: number }): void {
    this.#pages.set(gpa, { inp: v.inp, outp: v.outp });
  }

  /** The guest no longer uses the page at `gpa` as a ring. */
  drop(gpa: bigint): void {
    this.#pages.delete(gpa);
  }

  /** A copy of every control page, by ascending GPA (the same pages give the same value). */
  save(): Vtl0Rings {
    const rings = [...this.#pages].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([gpa, v]) => ({ gpa, ...v }));
    return { rings };
  }

  /** Replaces the pages with `value` (STATE_SCHEMA `vtl0: path: …` when it is not a Vtl0Rings). */
  restore(value: unknown): void {
    checkSchema('vtl0', Vtl0RingsSchema, value);
    const pages = new Map<bigint, { inp: number; outp: number }>();
    (value as Vtl0Rings).rings.forEach((r, i) => {
      const bad = (r.gpa & 0xfffn) !== 0n ? 'is not page aligned' : pages.has(r.gpa) ? 'appears twice' : undefined;
      if (bad !== undefined) throw new HclError('STATE_SCHEMA', `vtl0: rings[${i}].gpa: 0x${r.gpa.toString(16)} ${bad}`);
      pages.set(r.gpa, { inp: r.inp, outp: r.outp });
    });
    this.#pages = pages;
  }
}
