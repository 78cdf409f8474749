import type { TSchema } from '@sinclair/typebox';
import type { Topology, VmConfig } from '../../config/index.ts';
import { HclError } from '../../errors.ts';
import {
  copyState, currentGeneration, type SaveRank, type StateUnit, type UnitDescriptor, cleanCopy,
} from '../../state/index.ts';
import type { Plant } from '../../plant.ts';

/** What every unit is built from: the discovered topology and the configured devices. */
export interface UnitContext {
  topology: Topology;
  devices: VmConfig['devices'];
  /** A defect a test plants (lib/plant.ts); never set in production. */
  plant?: Plant | undefined;
}

/**
 * Shared plumbing of the openvmm_hcl units: identity from the descriptor, deep-copied save and
 * restore (unknown fields dropped, as the save-state rules require), and one error helper.
 * Subclasses hold their state in `state` and change it only through their own operations.
 */
export abstract class UnitBase<S> implements StateUnit<S> {
  #state: S | undefined;

  constructor(
    readonly descriptor: UnitDescriptor,
    protected readonly ctx: UnitContext,
  ) {}

  /** The live state; built from `defaultState()` on first use, once the subclass is complete. */
  protected get state(): S {
    return (this.#state ??= this.defaultState());
  }
  protected set state(s: S) {
    this.#state = s;
  }

  get name(): string {
    return this.descriptor.name;
  }
  get package(): string {
    return this.descriptor.package;
  }
  get saveRank(): SaveRank {
    return this.descriptor.saveRank;
  }
  get generation(): number {
    return currentGeneration(this.descriptor).generation;
  }
  get schema(): TSchema {
    return currentGeneration(this.descriptor).schema;
  }

  /** The state of a freshly booted device, derived from the context only. */
  abstract defaultState(): S;

  /** The live state, read-only, for callers that only look (workloads, tests); no copy. */
  view(): Readonly<S> {
    return this.state;
  }

  save(): S {
    return copyState(this.state);
  }

  restore(state: S): void {
    const copy = cleanCopy(this.schema, state) as S;
    if (this.ctx.plant === 'unit-forgets-field' && this.name === 'rtc.cmos') (copy as Record<string, unknown>)['index'] = 0;
    this.checkRestore(copy);
    this.state = this.rehydrate(copy);
  }

  /** Checks a restored value against the running topology; throws TOPOLOGY_MISMATCH. */
  protected checkRestore(_state: S): void {}

  /** The live state built from a checked restored value; per-VP units merge it with fresh VPs. */
  protected rehydrate(state: S): S {
    return state;
  }

  /** An HCL_DEVICE_INVALID error prefixed with the unit name. */
  protected invalid(what: string): HclError {
    return new HclError('HCL_DEVICE_INVALID', `${this.name}: ${what}`);
  }

  /** Throws unless `vp` is a VP index of the topology. */
  protected checkVp(vp: number, where: string): void {
    if (!Number.isInteger(vp) || vp < 0 || vp >= this.ctx.topology.vps.length) {
      throw this.invalid(`${where}: vp ${vp} out of range (partition has ${this.ctx.topology.vps.length})`);
    }
  }

  /** Throws TOPOLOGY_MISMATCH when a restored value names a VP the topology lacks. */
  protected checkRestoredVp(vp: number, where: string): void {
    if (vp >= this.ctx.topology.vps.length) {
      throw new HclError('TOPOLOGY_MISMATCH', `${this.name}: ${where}: saved vp ${vp} but partition has ${this.ctx.topology.vps.length} vps`);
    }
  }

  /** Returns `list[i]` or throws HCL_DEVICE_INVALID naming `kind` and `i`. */
  protected at<T>(list: readonly T[], i: number, kind: string): T {
    const v = Number.isInteger(i) ? list[i] : undefined;
    if (v === undefined) throw this.invalid(`${kind} ${i} does not exist (have ${list.length})`);
    return v;
  }
}
