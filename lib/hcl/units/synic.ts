import { Type, type Static } from '@sinclair/typebox';
import { SAVE_RANK, field, fieldsGeneration, nameKeyed, u64, uint, type UnitDescriptor } from '../../state/index.ts';

/**
 * `synic` (generations 1-3, retired in 4): the Hyper-V synthetic interrupt controller of each VP
 * (TLFS "SynIC"): SCONTROL, the message page (SIMP) and event-flags page (SIEFP), and 16 SINT
 * registers. A message posted to an unmasked SINT stays pending in its message slot until the
 * guest signals EOM. Since generation 4 each VP's SynIC is part of its `partition` bytes
 * (vp-layout.ts); this descriptor stays so older snapshots still decode, validate and upgrade.
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
