import { HclError } from '../errors.ts';
import type { UnitRegistry } from './registry.ts';
import { checkSchema, currentGeneration, type UnitDescriptor } from './unit.ts';

/**
 * Writing an older generation (`save --generation N`, servicing back to an older release): the
 * current state goes through each generation's downgrader, newest first, and is validated
 * against every older schema on the way.
 */

/**
 * `state` (current generation of `unitName`) as generation `toGeneration`. STATE_GENERATION when
 * the generation is unknown, a step has no downgrader, or the state cannot be expressed there.
 */
export function downgrade(unitName: string, state: unknown, toGeneration: number, registry: UnitRegistry): unknown {
  const d = registry.get(unitName);
  const current = currentGeneration(d).generation;
  if (!Number.isInteger(toGeneration) || toGeneration < 1 || toGeneration > current) {
    throw new HclError('STATE_GENERATION', `unit ${unitName}: cannot write generation ${toGeneration} (have 1..${current})`);
  }
  registry.validateUnitState(unitName, state);
  let v = state;
  for (let g = current; g > toGeneration; g--) {
    const step = d.generations[g - 1];
    const older = d.generations[g - 2];
    if (step?.downgrade === undefined || older === undefined) {
      throw new HclError('STATE_GENERATION', `unit ${unitName}: generation ${g} has no downgrader, cannot write generation ${toGeneration}`);
    }
    v = step.downgrade(v);
    checkSchema(unitName, older.schema, v);
  }
  return v;
}

/** Generations a descriptor's current release reads (via upgraders) and writes (via downgraders), ascending. */
export function generationReach(d: UnitDescriptor): { reads: number[]; writes: number[] } {
  const gens = d.generations;
  const current = gens.length;
  const reach = (has: (g: number) => boolean) => {
    const out = [current];
    for (let g = current; g > 1 && has(g); g--) out.unshift(g - 1);
    return out;
  };
  return { reads: reach((g) => gens[g - 1]?.upgrade !== undefined), writes: reach((g) => gens[g - 1]?.downgrade !== undefined) };
}
