import { generationReach, type SchemaDump, type UnitRegistry } from '../state/index.ts';
import { HV_DESCRIPTOR } from '../hv/index.ts';
import { defaultRegistry } from '../snapshot/index.ts';
import type { ReachDumpUnit } from './schema-check.ts';

/**
 * The schema dump `hclckpt schema dump` writes: the registry's dump, each unit annotated with the
 * generations this release reads (through upgraders) and writes (through downgraders), so that
 * `schema check` can tell a covered representation change from a real break.
 */
export function schemaDumpWithReach(registry: UnitRegistry = defaultRegistry()): SchemaDump & { units: ReachDumpUnit[] } {
  const dump = registry.schemaDump();
  // The hypervisor part has generations too (its register file became bytes in generation 2).
  const hypervisor = dump.hypervisor === null ? null : { ...dump.hypervisor, ...generationReach(HV_DESCRIPTOR) };
  return { ...dump, units: dump.units.map((u) => ({ ...u, ...generationReach(registry.get(u.name)) })), hypervisor };
}
