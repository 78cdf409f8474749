import { Type, type Static } from '@sinclair/typebox';
import { HclError, isHclError } from '../errors.ts';
import { InitStateSchema, type InitState } from './init-state.ts';
import type { UnitRegistry } from './registry.ts';
import { checkSchema, type StateUnit } from './unit.ts';

/**
 * OpenHCL servicing: save every state unit into a `ServicingState` (init state + units) and
 * restore from one. Save refuses isolated VMs and an already paused VM, stops every unit first,
 * saves in OpenHCL's order under a deadline, and resumes the VM if anything fails — except when
 * the deadline passes: OpenHCL's servicing watchdog panics then, so the VM is dead for good.
 */

const UUID = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

/** The whole saved paravisor state handed to the host. */
export const ServicingStateSchema = Type.Object({
  initState: InitStateSchema,
  units: Type.Array(Type.Object({ name: Type.String({ minLength: 1 }), state: Type.Unknown() })),
});
export type ServicingState = Static<typeof ServicingStateSchema>;

/** A monotonic nanosecond clock; tests pass a fake one. */
export interface Clock {
  now(): bigint;
}

/** Wall-clock monotonic time. */
export const systemClock: Clock = { now: () => process.hrtime.bigint() };

/** The host's save request. */
export interface SaveRequest {
  correlationId: string;
  /** Budget for the whole save in ns; exceeding it is SERVICING_TIMEOUT and the VM is dead (the watchdog panics). */
  timeoutNs: bigint;
  /** Hardware-isolated VMs cannot be serviced. */
  isolated?: boolean;
}

/** The init-state fields the caller supplies; the rest come from the request and the clock. */
export type InitInput = Omit<InitState, 'correlationId' | 'vmStopReferenceTime'>;

/** `units` sorted into save order by each unit's `saveRank`; stable within a rank. */
export function saveOrder<U extends { saveRank: number }>(units: readonly U[]): U[] {
  return units.map((u, i) => ({ u, i })).sort((a, b) => a.u.saveRank - b.u.saveRank || a.i - b.i).map((x) => x.u);
}

/** What a restore did. */
export interface RestoreReport {
  restored: string[];
  /** Units absent from the saved state, given their default state. */
  defaulted: string[];
}

/** Drives save and restore of one paravisor's units. */
export class ServicingController {
  readonly #units: StateUnit[];
  #paused = false;
  /** Why the paravisor is dead (its servicing watchdog panicked); undefined while it lives. */
  #crashed: string | undefined;

  constructor(
    units: readonly StateUnit[],
    private readonly registry: UnitRegistry,
    private readonly clock: Clock = systemClock,
  ) {
    this.#units = saveOrder(units);
  }

  /** True between a successful save and the next restore or resume. */
  get paused(): boolean {
    return this.#paused;
  }

  /** Why the VM is dead, or undefined: set once its servicing watchdog fired, never cleared. */
  get crashed(): string | undefined {
    return this.#crashed;
  }

  /**
   * Stops the VM and saves every unit; on failure the VM is resumed and the error rethrown. A
   * function `init` runs after the units stopped and before they save: what `LoadedVm::save`
   * saves first (emuplat, the NVMe manager) goes into the init state there. A save past its
   * deadline is fatal instead: dispatch/mod.rs `handle_servicing_inner` runs a watchdog that
   * panics ("servicing operation timed out"), so the VM stays stopped and refuses everything.
   */
  save(req: SaveRequest, init: InitInput | (() => InitInput)): ServicingState {
    this.#refuseDead('save');
    if (req.isolated === true) throw new HclError('SERVICING_REFUSED', `servicing ${req.correlationId}: save refused: isolated vms cannot be serviced`);
    if (this.#paused) throw new HclError('SERVICING_REFUSED', `servicing ${req.correlationId}: save refused: vm is already paused by an earlier save`);
    if (!new RegExp(UUID).test(req.correlationId)) throw new HclError('USAGE', `servicing: correlation id ${JSON.stringify(req.correlationId)} is not a uuid`);
    const start = this.clock.now();
    const deadline = start + req.timeoutNs;
    this.#paused = true;
    try {
      for (const u of this.#units) u.stop?.();
      const initState = typeof init === 'function' ? init() : structuredClone(init);
      const units: ServicingState['units'] = [];
      for (const u of this.#units) {
        const state = u.save();
        this.registry.validateUnitState(u.name, state);
        units.push({ name: u.name, state });
        const now = this.clock.now();
        if (now > deadline) {
          const why = `servicing ${req.correlationId}: save of unit ${u.name} passed the deadline by ${now - deadline} ns (timeout ${req.timeoutNs} ns)`;
          this.#crashed = `its servicing watchdog panicked (${why})`;
          throw new HclError('SERVICING_TIMEOUT', `${why}; OpenHCL's servicing watchdog panics here: the vm is dead, not resumed`, { context: { layer: 'usermode', kind: 'watchdog-panic' } });
        }
      }
      return { initState: { ...initState, correlationId: req.correlationId, vmStopReferenceTime: start / 100n }, units };
    } catch (e) {
      if (this.#crashed !== undefined) throw e;
      this.resume();
      if (isHclError(e)) throw e;
      throw new HclError('SERVICING_FAILED', `servicing ${req.correlationId}: save failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  }

  /** Resumes every unit (after a failed save, or to run after restore). */
  resume(): void {
    this.#refuseDead('resume');
    for (const u of this.#units) u.start?.();
    this.#paused = false;
  }

  /**
   * Restores every unit from `value`: the whole state and every unit entry are validated before
   * any unit changes (unknown or duplicate unit, schema errors with field paths); a unit with no
   * entry gets its default state. `fromInit` rehydrates what lives in the init state (the NVMe
   * manager) once all is validated, before the units restore. The VM then runs.
   */
  restore(value: unknown, fromInit?: (init: ServicingState['initState']) => void): RestoreReport {
    this.#refuseDead('restore');
    checkSchema('servicing state', ServicingStateSchema, value);
    const state = value as ServicingState;
    const byName = new Map<string, unknown>();
    const known = new Set(this.#units.map((u) => u.name));
    // As vmm_core/state_unit/src/lib.rs `StateUnits::restore`: every name is matched first, each
    // unknown or repeated one is an error ("unknown unit name", "duplicate unit name"), and no
    // unit restores unless all match. The first is thrown; all are in `context.problems`.
    const problems: Array<{ code: 'STATE_UNKNOWN_UNIT' | 'STATE_DUPLICATE_UNIT'; message: string }> = [];
    state.units.forEach((e, i) => {
      if (byName.has(e.name)) problems.push({ code: 'STATE_DUPLICATE_UNIT', message: `servicing state: units[${i}]: ${e.name}: duplicate unit name` });
      else if (!known.has(e.name)) problems.push({ code: 'STATE_UNKNOWN_UNIT', message: `servicing state: units[${i}]: ${e.name}: unknown unit name (known: ${[...known].sort().join(', ')})` });
      else byName.set(e.name, e.state);
    });
    const first = problems[0];
    if (first !== undefined) throw new HclError(first.code, first.message, { context: { problems } });
    for (const [name, s] of byName) this.registry.validateUnitState(name, s);
    fromInit?.(state.initState);
    const report: RestoreReport = { restored: [], defaulted: [] };
    for (const u of this.#units) {
      if (byName.has(u.name)) {
        u.restore(byName.get(u.name));
        report.restored.push(u.name);
      } else {
        u.restore(u.defaultState());
        report.defaulted.push(u.name);
      }
    }
    this.resume();
    return report;
  }

  #refuseDead(op: string): void {
    if (this.#crashed !== undefined) throw new HclError('VM_CRASHED', `servicing ${op}: refused: the vm is dead: ${this.#crashed}`);
  }
}
