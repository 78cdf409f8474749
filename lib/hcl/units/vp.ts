import { Type, type Static } from '@sinclair/typebox';
import { SAVE_RANK, field, fieldsGeneration, nameKeyed, uint, type UnitDescriptor } from '../../state/index.ts';

/**
 * `vp` (generations 1-3, retired in 4): openvmm_hcl's per-VP bookkeeping (not the architectural
 * registers, which the hypervisor saves): run state, active VTL, pending events and interrupts,
 * whether the VP runs in Linux or in the sidecar kernel, and whether the guest halted it. Since
 * generation 4 each VP's share is bytes of the `partition` unit (vp-layout.ts); this descriptor
 * stays so older snapshots still decode, validate and upgrade.
 */

/** Hyper-V exception/interrupt event kinds a VP can have pending. */
export const VpEventKindSchema = Type.Union([Type.Literal('nmi'), Type.Literal('exception'), Type.Literal('intercept')]);

/** One VP's saved state. */
export const VpEntrySchema = Type.Object({
  index: field(1, uint(32, 'VP index')),
  /** reset: never started; running; stopped: paused by the paravisor (servicing). */
  runState: field(2, Type.Union([Type.Literal('reset'), Type.Literal('running'), Type.Literal('stopped')])),
  vtl: field(3, Type.Union([Type.Literal(0), Type.Literal(2)])),
  role: field(4, Type.Union([Type.Literal('linux'), Type.Literal('sidecar')])),
  halted: field(5, Type.Boolean()),
  pendingEvents: field(6, Type.Array(Type.Object({ kind: field(1, VpEventKindSchema), vector: field(2, uint(8)) }))),
  /** Pending fixed interrupt vectors (16..255), ascending, no duplicates. */
  pendingInterrupts: field(7, Type.Array(Type.Integer({ minimum: 16, maximum: 255 }))),
});
export type VpEntry = Static<typeof VpEntrySchema>;

/** The `vp` unit's saved state. */
export const VpStateSchema = Type.Object({ vps: field(1, Type.Array(VpEntrySchema)) });
export type VpState = Static<typeof VpStateSchema>;

/** Descriptor of the `vp` unit. */
export const VP_UNIT: UnitDescriptor = {
  name: 'vp',
  package: 'openvmm.vp',
  message: 'SavedState',
  saveRank: SAVE_RANK.other,
  generations: [{ generation: 1, schema: nameKeyed(VpStateSchema) }, fieldsGeneration(VpStateSchema)],
};
