import { Type, type Static, type TBigInt, type TObject } from '@sinclair/typebox';
import { HclError } from '../errors.ts';
import { bytes, u64, uint } from '../state/index.ts';
import { AARCH64_REGISTERS, X86_REGISTERS } from './registers.ts';

/**
 * The hypervisor's saved register file as fixed-layout bytes (generation 2), and the named form
 * it replaced (generation 1), which `show` and `diff` still print and older snapshots still hold.
 *
 * Layout of `registers`: VP-major, one little-endian u64 per register in the architecture's save
 * order (registers.ts: 38 on x86_64, 46 on aarch64), so register r of VP i sits at byte offset
 * (i × count + r) × 8 and the whole file is vpCount × count × 8 bytes (622 592 at 2048 x86 VPs).
 */

/** Most VPs a partition has (openhcl_boot's limit, as the config's). */
const HV_MAX_VPS = 2048;

/** Register names of `arch`, in layout order. */
export function registerNames(arch: 'x86_64' | 'aarch64'): readonly string[] {
  return arch === 'x86_64' ? X86_REGISTERS : AARCH64_REGISTERS;
}

const typedVariant = <A extends 'x86_64' | 'aarch64'>(arch: A) =>
  Type.Object({
    arch: Type.Literal(arch),
    vpCount: uint(32),
    registers: bytes(HV_MAX_VPS * registerNames(arch).length * 8, `per VP, every ${arch} register as a little-endian u64, in save order`),
  });

/** Generation 2, per architecture: the register file as bytes. */
export const HV_TYPED = { x86_64: typedVariant('x86_64'), aarch64: typedVariant('aarch64') };

const namedRegs = (names: readonly string[]): TObject<Record<string, TBigInt>> => Type.Object(Object.fromEntries(names.map((n) => [n, u64()])));
const namedVariant = (arch: 'x86_64' | 'aarch64') =>
  Type.Object({ arch: Type.Literal(arch), vps: Type.Array(Type.Object({ index: uint(32), registers: namedRegs(registerNames(arch)) })) });

/** Generation 1, per architecture: per VP an object of named bigints. */
export const HV_NAMED = { x86_64: namedVariant('x86_64'), aarch64: namedVariant('aarch64') };

/** The hypervisor's saved partition state (generation 2). */
export type HvState = Static<(typeof HV_TYPED)['x86_64']> | Static<(typeof HV_TYPED)['aarch64']>;

/** The named form (generation 1): what `show` and `diff` print. */
export interface HvNamedState {
  arch: 'x86_64' | 'aarch64';
  vps: Array<{ index: number; registers: Record<string, bigint> }>;
}

/** Whether `v` has the generation-2 shape with a register file of exactly the size its header says. */
export function isTypedHv(v: unknown): v is HvState {
  const s = v as Partial<HvState> | null;
  if (typeof s !== 'object' || s === null || (s.arch !== 'x86_64' && s.arch !== 'aarch64') || !(s.registers instanceof Uint8Array)) return false;
  return Number.isSafeInteger(s.vpCount) && s.registers.length === (s.vpCount as number) * registerNames(s.arch).length * 8;
}

/** The register file by name (generation 2 → 1): lossless. */
export function hvByName(s: HvState): HvNamedState {
  const names = registerNames(s.arch);
  const view = new DataView(s.registers.buffer, s.registers.byteOffset, s.registers.byteLength);
  const vps = Array.from({ length: s.vpCount }, (_, index) => {
    const base = index * names.length * 8;
    return { index, registers: Object.fromEntries(names.map((n, r) => [n, view.getBigUint64(base + r * 8, true)])) };
  });
  return { arch: s.arch, vps };
}

/** The named form as bytes (generation 1 → 2); HV_INVALID when a VP's index is not its position. */
export function hvFromNamed(n: HvNamedState): HvState {
  const names = registerNames(n.arch);
  const registers = new Uint8Array(n.vps.length * names.length * 8);
  const view = new DataView(registers.buffer);
  n.vps.forEach((vp, i) => {
    if (vp.index !== i) throw new HclError('HV_INVALID', `hv: vps[${i}].index is ${vp.index}`);
    names.forEach((name, r) => view.setBigUint64((i * names.length + r) * 8, vp.registers[name] ?? 0n, true));
  });
  return { arch: n.arch, vpCount: n.vps.length, registers };
}

/** Whether two values are the same register file (one byte compare, no decode). */
export function sameTypedHv(a: unknown, b: unknown): boolean {
  return isTypedHv(a) && isTypedHv(b) && a.arch === b.arch && a.vpCount === b.vpCount && Buffer.compare(a.registers, b.registers) === 0;
}

/** What `show` and `diff` print for a decoded `hv` part: registers by name when it is the typed form, else the value as it is. */
export function hvView(v: unknown): unknown {
  return isTypedHv(v) ? hvByName(v) : v;
}
