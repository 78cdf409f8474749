import { HclError } from '../errors.ts';
import type { InitState } from './init-state.ts';

/**
 * Releases that changed the *set* of units, not just one unit's shape: units renamed, merged
 * (OpenHCL's `partition` unit holds what older generations kept in several), or moved into the
 * init state (the NVMe manager's state is `ServicingInitState.nvme_state`). A step names the
 * units it retires; each retired unit keeps its descriptor (readable, never written) so older
 * snapshots still decode, validate and upgrade, and the step then turns them into the new set.
 * Per-unit generations (lib/state/unit.ts) handle a shape change within one unit; a step runs
 * after every unit has reached its own newest generation.
 */

/** Units by name, each at its descriptor's newest generation. */
export type UnitStates = Map<string, unknown>;

/** One change of the unit set, introduced by release generation `generation`. */
export interface UnitSetStep {
  /** The release generation that writes the new set. */
  readonly generation: number;
  /** Unit names written before `generation` that this step consumes. */
  readonly retires: readonly string[];
  /** The unit names it produces (a move into the init state produces none). */
  readonly produces: readonly string[];
  /** One line for `schema check` and the docs: what became of the retired units. */
  readonly why: string;
  /**
   * Builds the new units from the retired ones present in `retired` (a retired unit the snapshot
   * lacks is absent: the step supplies its default) and may fill init-state fields.
   */
  up(retired: UnitStates, init: InitState): { units: UnitStates; init: InitState };
  /**
   * The inverse for writing an older generation: the retired units from the produced ones;
   * STATE_GENERATION when the state cannot be expressed there.
   */
  down(produced: UnitStates, init: InitState): { units: UnitStates; init: InitState };
}

/** A servicing state's units and init state, as one value the steps transform. */
export interface UnitSet {
  units: Array<{ name: string; state: unknown }>;
  init: InitState;
}

/** Throws TypeError unless the steps are in ascending generation order and no name is retired or produced twice. */
export function checkSteps(steps: readonly UnitSetStep[]): void {
  const retired = new Set<string>();
  const produced = new Set<string>();
  steps.forEach((s, i) => {
    if (i > 0 && s.generation < steps[i - 1]!.generation) throw new TypeError(`unit-set step ${s.generation} out of order`);
    for (const n of s.retires) {
      if (retired.has(n)) throw new TypeError(`unit ${n} retired twice`);
      retired.add(n);
    }
    for (const n of s.produces) {
      if (produced.has(n)) throw new TypeError(`unit ${n} produced twice`);
      produced.add(n);
    }
  });
}

/**
 * Brings `set` (every unit at its own newest generation) to this release's unit set: each step
 * whose retired units appear runs in generation order. A produced name that is also present
 * already (a snapshot holding both forms) is STATE_DUPLICATE_UNIT.
 */
export function toCurrentUnitSet(set: UnitSet, steps: readonly UnitSetStep[]): UnitSet {
  let { units, init } = set;
  for (const step of steps) {
    const retired: UnitStates = new Map();
    for (const u of units) if (step.retires.includes(u.name)) retired.set(u.name, u.state);
    if (retired.size === 0) continue;
    const out = step.up(retired, init);
    const rest = units.filter((u) => !step.retires.includes(u.name));
    for (const name of out.units.keys()) {
      if (rest.some((u) => u.name === name)) {
        throw new HclError('STATE_DUPLICATE_UNIT', `servicing state: ${name}: present both as itself and as ${[...retired.keys()].join(' + ')} of generation < ${step.generation}`);
      }
    }
    units = [...rest, ...[...out.units].map(([name, state]) => ({ name, state }))];
    init = out.init;
  }
  return { units, init };
}

/**
 * `set` (this release's unit set) as release generation `generation` wrote it: every step newer
 * than `generation` runs backwards, newest first. The retired units come out at their newest
 * generation; the caller then downgrades each unit as usual. A step none of whose units is
 * present is skipped.
 */
export function toUnitSetOf(set: UnitSet, generation: number, steps: readonly UnitSetStep[]): UnitSet {
  let { units, init } = set;
  for (const step of [...steps].reverse()) {
    if (step.generation <= generation) break;
    const produced: UnitStates = new Map();
    for (const u of units) if (step.produces.includes(u.name)) produced.set(u.name, u.state);
    // Nothing of what the step made is here (a step into the init state always runs).
    if (step.produces.length > 0 && produced.size === 0) continue;
    const out = step.down(produced, init);
    units = [...units.filter((u) => !step.produces.includes(u.name)), ...[...out.units].map(([name, state]) => ({ name, state }))];
    init = out.init;
  }
  return { units, init };
}
