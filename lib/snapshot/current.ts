import { currentGeneration, type InitState, type UnitRegistry } from '../state/index.ts';
import type { DecodedParts } from './decode.ts';
import { defaultRegistry } from './registry.ts';

/**
 * A decoded snapshot's units and init state as this release restores them: each unit upgraded to
 * its newest generation (validated on the way), then the unit-set steps turn units of older
 * releases into today's set (lib/state/unit-set.ts). A unit already at its newest generation is
 * not validated here; the servicing restore validates every unit once.
 */
export function currentUnitSet(
  parts: Pick<DecodedParts, 'units' | 'unitMeta' | 'init'>,
  registry: UnitRegistry = defaultRegistry(),
): { units: Array<{ name: string; state: unknown }>; init: InitState } {
  const units = parts.units.map((u) => {
    if (!registry.has(u.name)) return u; // the servicing restore refuses it as an unknown unit
    const newest = currentGeneration(registry.get(u.name)).generation;
    const from = parts.unitMeta.get(u.name)?.generation ?? newest;
    return from === newest ? u : { name: u.name, state: registry.upgrade(u.name, u.state, from) };
  });
  return registry.toCurrentSet({ units, init: parts.init });
}
