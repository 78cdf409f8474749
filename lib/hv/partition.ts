import { Type } from '@sinclair/typebox';
import type { Topology } from '../config/index.ts';
import { HclError } from '../errors.ts';
import { SAVE_RANK, checkSchema, type UnitDescriptor } from '../state/index.ts';
import { HV_NAMED, HV_TYPED, hvByName, hvFromNamed, isTypedHv, registerNames, type HvNamedState, type HvState } from './layout.ts';
import { resetRegisters } from './registers.ts';

/**
 * The hypervisor side of the partition: per-VP architectural registers, held as one register
 * file of fixed layout (layout.ts). OpenHCL does not save these; the hypervisor does, so this
 * state is its own part of a snapshot, beside the ServicingState, with its own schema.
 */

/** Schema of the hypervisor's saved partition state (current generation). */
export const HvStateSchema = Type.Union([HV_TYPED.x86_64, HV_TYPED.aarch64]);

/** Descriptor of the hypervisor state, so the schema dump and `schema check` cover it. */
export const HV_DESCRIPTOR: UnitDescriptor = {
  name: 'hv',
  package: 'openvmm.hv.partition',
  // The hypervisor saves this part itself, outside openvmm_hcl's ordered save; the rank is unused.
  saveRank: SAVE_RANK.other,
  generations: [
    { generation: 1, schema: Type.Union([HV_NAMED.x86_64, HV_NAMED.aarch64]) },
    {
      generation: 2, schema: HvStateSchema,
      upgrade: (v) => hvFromNamed(v as HvNamedState), downgrade: (v) => hvByName(v as HvState),
    },
  ],
};

/** Generation of the hypervisor part a value is: 2 for the register file as bytes, 1 for the named form. */
export function hvGenerationOf(v: unknown): number {
  return isTypedHv(v) ? 2 : 1;
}

/**
 * A decoded `hv` part of generation `generation` as the current generation: generation 1 is
 * validated (STATE_SCHEMA with the field path) and upgraded; generation 2 is left to `restore`.
 */
export function currentHv(v: unknown, generation: number): unknown {
  if (generation >= 2) return v;
  const arch = (v as { arch?: unknown } | null)?.arch;
  checkSchema('hv', arch === 'x86_64' || arch === 'aarch64' ? HV_NAMED[arch] : HV_DESCRIPTOR.generations[0]!.schema, v);
  return hvFromNamed(v as HvNamedState);
}

/** A partition's VPs as the hypervisor holds them. */
export class HvPartition {
  #state: HvState;
  #view: DataView;
  readonly #index: ReadonlyMap<string, number>;

  constructor(readonly topology: Topology) {
    this.#state = HvPartition.resetState(topology);
    this.#view = viewOf(this.#state.registers);
    this.#index = new Map(registerNames(topology.arch).map((n, i) => [n, i]));
  }

  /** Every VP at architectural reset: one VP's reset file, repeated, with the BSP's own. */
  static resetState(topology: Topology): HvState {
    const names = registerNames(topology.arch);
    const one = (vp: number) => {
      const b = new Uint8Array(names.length * 8);
      const v = viewOf(b);
      const regs = resetRegisters(topology.arch, vp);
      names.forEach((n, r) => v.setBigUint64(r * 8, regs[n] ?? 0n, true));
      return b;
    };
    const n = topology.vps.length;
    const registers = new Uint8Array(n * names.length * 8);
    const ap = one(1);
    for (let i = 1; i < n; i++) registers.set(ap, i * ap.length);
    if (n > 0) registers.set(one(0), 0);
    return { arch: topology.arch, vpCount: n, registers } as HvState;
  }

  /** Register names of this partition's architecture, in layout order. */
  registerNames(): readonly string[] {
    return registerNames(this.#state.arch);
  }

  /** Reads one register of one VP. */
  getRegister(vp: number, name: string): bigint {
    return this.#view.getBigUint64(this.#offset(vp, name), true);
  }

  /** Writes one register of one VP (a set-VP-registers hypercall). */
  setRegister(vp: number, name: string, value: bigint): void {
    const at = this.#offset(vp, name);
    if (value < 0n || value > 0xffff_ffff_ffff_ffffn) throw new HclError('HV_INVALID', `hv: vp ${vp} ${name}: value ${value} is not a u64`);
    this.#view.setBigUint64(at, value, true);
  }

  /** A copy of every VP's registers (one copy of the register file). */
  save(): HvState {
    return { ...this.#state, registers: this.#state.registers.slice() };
  }

  /**
   * Validates `value` once (STATE_SCHEMA with the field path), checks its architecture
   * (TOPOLOGY_MISMATCH) and the file's size (HV_INVALID), then restores the VPs it holds, as
   * vmm_core partition_unit/vp_set.rs `VpSet::restore` restores only the VPs named in the saved
   * state: a VP the partition lacks is `UnknownEntryId("vpN")` (STATE_UNKNOWN_ENTRY), a VP
   * without saved registers keeps its reset registers.
   */
  restore(value: unknown): void {
    // Checking against the variant the value names gives errors a field path, not "union".
    const arch = (value as { arch?: unknown } | null)?.arch;
    checkSchema('hv', arch === 'x86_64' || arch === 'aarch64' ? HV_TYPED[arch] : HvStateSchema, value);
    const s = value as HvState;
    if (s.arch !== this.topology.arch) throw new HclError('TOPOLOGY_MISMATCH', `hv: saved ${s.arch} registers for a ${this.topology.arch} partition`);
    const need = s.vpCount * registerNames(s.arch).length * 8;
    if (s.registers.length !== need) throw new HclError('HV_INVALID', `hv: register file is ${s.registers.length} bytes, ${s.vpCount} vps × ${registerNames(s.arch).length} registers need ${need}`);
    const vps = this.topology.vps.length;
    if (s.vpCount > vps) {
      throw new HclError('STATE_UNKNOWN_ENTRY', `hv: restore failed: unknown entry id: vp${vps} (the partition has ${vps} vps, the saved state ${s.vpCount})`, { context: { unit: 'hv', entry: `vp${vps}` } });
    }
    const state = HvPartition.resetState(this.topology);
    state.registers.set(s.registers, 0);
    this.#state = state;
    this.#view = viewOf(this.#state.registers);
  }

  #offset(vp: number, name: string): number {
    if (!Number.isInteger(vp) || vp < 0 || vp >= this.#state.vpCount) throw new HclError('HV_INVALID', `hv: vp ${vp} out of range (partition has ${this.#state.vpCount})`);
    const r = this.#index.get(name);
    if (r === undefined) throw new HclError('HV_INVALID', `hv: vp ${vp}: no ${this.#state.arch} register ${name}`);
    return (vp * this.#index.size + r) * 8;
  }
}

function viewOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}
