// Unit machinery: schemas and generations, the registry class, upgrade/downgrade, the canonical
// codec, copy and clean, and the ordered save/restore of a set of units. Which units exist is
// lib/snapshot's business; nothing here imports a stage.

// units and schemas
export {
  SAVE_RANK, U64_MAX, FIELDS_GENERATION, currentGeneration, fieldsGeneration, typeUrl, uint, u64, i64, bytes, fieldPath, checkSchema,
} from './unit.ts';
export { field, enumOf, enumNumbers, nameKeyed, encodeFields, decodeFields } from './fields.ts';
export type { SaveRank, UnitGeneration, UnitDescriptor, StateUnit } from './unit.ts';

// registry, upgrade and downgrade
export { UnitRegistry, jsonSchema } from './registry.ts';
export type { SchemaDump, SchemaDumpUnit, RetiredUnit, UnitSetHistory } from './registry.ts';
export type { UnitSetStep, UnitSet, UnitStates } from './unit-set.ts';
export { downgrade, generationAtMost, generationReach } from './downgrade.ts';

// canonical codec, copy, clean
export { encodeCanonical, encodeCanonicalWire, decodeCanonical, MAX_DEPTH } from './codec.ts';
export type { CanonicalValue } from './codec.ts';
export { copyState } from './copy.ts';
export { cleanState, cleanCopy } from './clean.ts';

// servicing
export { ServicingController, saveOrder, systemClock, ServicingStateSchema } from './servicing.ts';
export type { ServicingState, Clock, SaveRequest, InitInput, RestoreReport } from './servicing.ts';
export {
  INIT_TYPE, InitStateSchema, EmuplatSchema, TopologySchema, ObservedSchema, LegacyInitStateSchema, upgradeLegacyInit, downgradeInit,
} from './init-state.ts';
export type { InitState, Observed } from './init-state.ts';
export { NvmeSavedStateSchema, NvmeManagerSavedSchema, NvmeDriverSavedSchema, IDENTIFY_BYTES, COMMAND_BYTES } from './nvme-state.ts';
export type { NvmeManagerSavedState, NvmeDriverSavedState, QueuePairSavedState, IoQueueSavedState } from './nvme-state.ts';
