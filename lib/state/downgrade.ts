import { HclError } from '../errors.ts';
import type { UnitRegistry } from './registry.ts';
import { checkSchema, currentGeneration, type UnitDescriptor } from './unit.ts';

/**
 * Writing an older generation (`save --generation N`, servicing back to an older release): the
 * current state goes through each generation's downgrader, newest first, and is validated
 * against every older schema on the way.
 */

/**
 * The unit's generation a release of generation `release` wrote: its newest generation not above
 * it (a unit that did not change in a release keeps its older shape). Undefined before its first.
 */
export function generationAtMost(d: UnitDescriptor, release: number): number | undefined {
  return d.generations.filter((g) => g.generation <= release).at(-1)?.generation;
}

/**
 * `state` (current generation of `unitName`) as generation `toGeneration`, one of the unit's
 * generations. STATE_GENERATION when the generation is unknown, a step has no downgrader, or the
 * state cannot be expressed there.
 */
export function downgrade(unitName: string, state: unknown, toGeneration: number, registry: UnitRegistry): unknown {
  const d = registry.get(unitName);
  const gens = d.generations;
  const target = gens.findIndex((g) => g.generation === toGeneration);
  if (target < 0) {
    throw new HclError('STATE_GENERATION', `unit ${unitName}: cannot write generation ${toGeneration} (have ${gens.map((g) => g.generation).join(', ')})`);
  }
  registry.validateUnitState(unitName, state);
  let v = state;
  for (let i = gens.length - 1; i > target; i--) {
    const step = gens[i]!;
    const older = gens[i - 1]!;
    if (step.downgrade === undefined) {
      throw new HclError('STATE_GENERATION', `unit ${unitName}: generation ${step.generation} has no downgrader, cannot write generation ${toGeneration}`);
    }
    v = step.downgrade(v);
    checkSchema(unitName, older.schema, v);
  }
  return v;
}

/** Generations a descriptor's current release reads (via upgraders) and writes (via downgraders), ascending. */
export function generationReach(d: UnitDescriptor): { reads: number[]; writes: number[] } {
  const gens = d.generations;
  const reach = (has: (g: (typeof gens)[number]) => boolean) => {
    const out = [currentGeneration(d).generation];
    for (let i = gens.length - 1; i > 0 && has(gens[i]!); i--) out.unshift(gens[i - 1]!.generation);
    return out;
  };
  return { reads: reach((g) => g.upgrade !== undefined), writes: reach((g) => g.downgrade !== undefined) };
}
