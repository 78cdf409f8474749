import { Type, type Static, type TBigInt, type TObject } from '@sinclair/typebox';
import type { Topology } from '../config/index.ts';
import { HclError } from '../errors.ts';
import { cleanCopy, copyState, SAVE_RANK, checkSchema, u64, uint, type UnitDescriptor } from '../state/index.ts';
import { AARCH64_REGISTERS, X86_REGISTERS, resetRegisters } from './registers.ts';

/**
 * The hypervisor side of the partition: per-VP architectural registers. OpenHCL does not save
 * these; the hypervisor does, so this state is its own part of a snapshot, beside the
 * ServicingState, with its own schema.
 */

const regsSchema = (names: readonly string[]): TObject<Record<string, TBigInt>> =>
  Type.Object(Object.fromEntries(names.map((n) => [n, u64()])));

const variant = (arch: 'x86_64' | 'aarch64', names: readonly string[]) =>
  Type.Object({
    arch: Type.Literal(arch),
    vps: Type.Array(Type.Object({ index: uint(32), registers: regsSchema(names) })),
  });

const VARIANTS = { x86_64: variant('x86_64', X86_REGISTERS), aarch64: variant('aarch64', AARCH64_REGISTERS) };

/** Schema of the hypervisor's saved partition state. */
export const HvStateSchema = Type.Union([VARIANTS.x86_64, VARIANTS.aarch64]);

/** The hypervisor's saved partition state: per VP, every architectural register as a u64. */
export interface HvState {
  arch: 'x86_64' | 'aarch64';
  vps: Array<{ index: number; registers: Record<string, bigint> }>;
}
// HvState is written by hand for readable types; this line keeps it in step with the schema.
const _sameShape: (s: Static<typeof HvStateSchema>) => HvState = (s) => s;
void _sameShape;

/** Descriptor of the hypervisor state, so the schema dump and `schema check` cover it. */
export const HV_DESCRIPTOR: UnitDescriptor = {
  name: 'hv',
  package: 'openvmm.hv.partition',
  // The hypervisor saves this part itself, outside openvmm_hcl's ordered save; the rank is unused.
  saveRank: SAVE_RANK.other,
  generations: [{ generation: 1, schema: HvStateSchema }],
};

/** A partition's VPs as the hypervisor holds them. */
export class HvPartition {
  #state: HvState;

  constructor(readonly topology: Topology) {
    this.#state = HvPartition.resetState(topology);
  }

  /** Every VP at architectural reset. */
  static resetState(topology: Topology): HvState {
    return { arch: topology.arch, vps: topology.vps.map((v) => ({ index: v.index, registers: resetRegisters(topology.arch, v.index) })) };
  }

  /** Register names of this partition's architecture, in save order. */
  registerNames(): readonly string[] {
    return this.#state.arch === 'x86_64' ? X86_REGISTERS : AARCH64_REGISTERS;
  }

  /** Reads one register of one VP. */
  getRegister(vp: number, name: string): bigint {
    return this.#regs(vp, name)[name] ?? 0n;
  }

  /** Writes one register of one VP (a set-VP-registers hypercall). */
  setRegister(vp: number, name: string, value: bigint): void {
    const regs = this.#regs(vp, name);
    if (value < 0n || value > 0xffff_ffff_ffff_ffffn) throw new HclError('HV_INVALID', `hv: vp ${vp} ${name}: value ${value} is not a u64`);
    regs[name] = value;
  }

  /** A deep copy of every VP's registers. */
  save(): HvState {
    return copyState(this.#state);
  }

  /**
   * Validates `value` (STATE_SCHEMA with the field path) and checks it against this partition's
   * architecture and VP count (TOPOLOGY_MISMATCH) before replacing the registers.
   */
  restore(value: unknown): void {
    // Checking against the variant the value names gives errors a field path, not "union".
    const arch = (value as { arch?: unknown } | null)?.arch;
    const variant = arch === 'x86_64' || arch === 'aarch64' ? VARIANTS[arch] : HvStateSchema;
    checkSchema('hv', variant, value);
    // The value passed its variant, the only one whose `arch` literal it matches, so cleaning by
    // that variant is what cleaning by the union does, without checking every variant first.
    const s = cleanCopy(variant, value) as HvState;
    if (s.arch !== this.topology.arch) throw new HclError('TOPOLOGY_MISMATCH', `hv: saved ${s.arch} registers for a ${this.topology.arch} partition`);
    if (s.vps.length !== this.topology.vps.length) {
      throw new HclError('TOPOLOGY_MISMATCH', `hv: saved ${s.vps.length} vps but partition has ${this.topology.vps.length}`);
    }
    s.vps.forEach((v, i) => {
      if (v.index !== i) throw new HclError('HV_INVALID', `hv: vps[${i}].index is ${v.index}`);
    });
    this.#state = s;
  }

  #regs(vp: number, name: string): Record<string, bigint> {
    const v = Number.isInteger(vp) ? this.#state.vps[vp] : undefined;
    if (v === undefined) throw new HclError('HV_INVALID', `hv: vp ${vp} out of range (partition has ${this.#state.vps.length})`);
    if (!Object.hasOwn(v.registers, name)) throw new HclError('HV_INVALID', `hv: vp ${vp}: no ${this.#state.arch} register ${name}`);
    return v.registers;
  }
}
