import { VMBUS_UNIT_V3, legacyRings, type Vtl0Rings, type VmbusStateV3 } from '../hcl/index.ts';
import { currentGeneration, type InitState, type UnitRegistry } from '../state/index.ts';
import type { DecodedParts } from './decode.ts';
import { defaultRegistry } from './registry.ts';

/**
 * A decoded snapshot's units and init state as this release restores them: each unit upgraded to
 * its newest generation (validated on the way), then the unit-set steps turn units of older
 * releases into today's set (lib/state/unit-set.ts). A live unit already at its newest generation
 * is not validated here (the servicing restore validates every unit once); a retired one is, as
 * its step reads it. Snapshots before generation 4 have no `vtl0` part: their VMBus unit held
 * the ring positions, which become VTL0 memory here.
 */
export function currentUnitSet(
  parts: Pick<DecodedParts, 'units' | 'unitMeta' | 'init' | 'vtl0'>,
  registry: UnitRegistry = defaultRegistry(),
): { units: Array<{ name: string; state: unknown }>; init: InitState; vtl0: unknown } {
  const units = parts.units.map((u) => {
    if (!registry.has(u.name)) return u; // the servicing restore refuses it as an unknown unit
    const newest = currentGeneration(registry.get(u.name)).generation;
    const from = parts.unitMeta.get(u.name)?.generation ?? newest;
    // A retired unit is validated even at its newest generation: a unit-set step reads it next.
    return from === newest && !registry.isRetired(u.name) ? u : { name: u.name, state: registry.upgrade(u.name, u.state, from) };
  });
  return { ...registry.toCurrentSet({ units, init: parts.init }), vtl0: parts.vtl0 ?? retiredRings(units) };
}

/**
 * VTL0 memory as a snapshot older than generation 4 implies it: those releases kept the VMBus ring
 * positions in `vmbus.server.channels` (already upgraded and validated in `units`); empty without it.
 */
function retiredRings(units: ReadonlyArray<{ name: string; state: unknown }>): Vtl0Rings {
  const old = units.find((u) => u.name === VMBUS_UNIT_V3.name);
  return old === undefined ? { rings: [] } : legacyRings(old.state as VmbusStateV3);
}
