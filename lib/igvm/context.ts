import { HclError } from '../errors.ts';
import { headerError } from './checks.ts';
import type { DataSection } from './datasection.ts';
import { VBS_AARCH64_REGISTERS, VBS_X64_REGISTERS } from './registers.ts';
import { NATIVE_CONTEXT_SIZE, PAGE_SIZE_4K, PlatformType, SEV_VMSA_SIZE, type VpContext } from './types.ts';

const hex = (v: number): string => `0x${v.toString(16)}`;

/** One VSM (VBS) VP context register record: 32 bytes, vtl @0, name @1, value[16] @16. */
export interface VsmRegister {
  vtl: number;
  /** Hypervisor register name (HV_REGISTER_NAME). */
  name: number;
  /** The 128-bit value as 16 little-endian bytes. */
  value: Uint8Array;
}

/** Encodes VSM context data: u32 register count, then 32-byte records (not padded). */
export function encodeVsmContext(registers: readonly VsmRegister[]): Uint8Array {
  const out = new Uint8Array(4 + 32 * registers.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, registers.length, true);
  registers.forEach((r, i) => {
    if (r.value.length > 16) throw new TypeError(`vsm register ${hex(r.name)} value is longer than 16 bytes`);
    v.setUint8(4 + 32 * i, r.vtl);
    v.setUint32(4 + 32 * i + 1, r.name, true);
    out.set(r.value, 4 + 32 * i + 16);
  });
  return out;
}

/** Decodes VSM context data written by `encodeVsmContext` (IGVM_INVALID_CONTEXT when malformed). */
export function decodeVsmContext(data: Uint8Array): VsmRegister[] {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length < 4 || data.length !== 4 + 32 * v.getUint32(0, true)) {
    throw new HclError('IGVM_INVALID_CONTEXT', `vsm vp context: ${data.length} bytes do not hold a register count and its records`);
  }
  const regs: VsmRegister[] = [];
  for (let at = 4; at < data.length; at += 32) {
    regs.push({ vtl: v.getUint8(at), name: v.getUint32(at + 1, true), value: data.slice(at + 16, at + 32) });
  }
  return regs;
}

/** Register order of the 18 u64 general registers at the start of a NATIVE context. */
export const NATIVE_GPRS = [
  'rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip', 'rflags',
] as const;

/** NATIVE/SEV VP context (the 232-byte IgvmNativeVpContextX64); u64 as bigint, others numbers. */
export type NativeContext = Record<(typeof NATIVE_GPRS)[number] | 'idtrBase' | 'gdtrBase' | 'gsBase' | 'cr0' | 'cr3' | 'cr4' | 'efer', bigint> &
  Record<'idtrLimit' | 'gdtrLimit' | 'codeSelector' | 'codeAttributes' | 'codeBase' | 'codeLimit' | 'dataSelector' | 'dataAttributes' | 'dataBase' | 'dataLimit', number>;

const NATIVE_FIELDS: Array<[keyof NativeContext, 'u16' | 'u32' | 'u64', number]> = [
  ...NATIVE_GPRS.map((n, i): [keyof NativeContext, 'u64', number] => [n, 'u64', 8 * i]),
  ['idtrBase', 'u64', 144], ['idtrLimit', 'u16', 152], ['gdtrLimit', 'u16', 158], ['gdtrBase', 'u64', 160],
  ['codeSelector', 'u16', 168], ['codeAttributes', 'u16', 170], ['codeBase', 'u32', 172], ['codeLimit', 'u32', 176],
  ['dataSelector', 'u16', 180], ['dataAttributes', 'u16', 182], ['dataBase', 'u32', 184], ['dataLimit', 'u32', 188],
  ['gsBase', 'u64', 192], ['cr0', 'u64', 200], ['cr3', 'u64', 208], ['cr4', 'u64', 216], ['efer', 'u64', 224],
];

/** Encodes a NATIVE context into its 4 KiB page (fields not given are zero). */
export function encodeNativeContext(ctx: Partial<NativeContext>): Uint8Array {
  const out = new Uint8Array(PAGE_SIZE_4K);
  const v = new DataView(out.buffer);
  for (const [name, type, at] of NATIVE_FIELDS) {
    const val = ctx[name];
    if (val === undefined) continue;
    if (type === 'u64') v.setBigUint64(at, BigInt(val), true);
    else if (type === 'u32') v.setUint32(at, Number(val), true);
    else v.setUint16(at, Number(val), true);
  }
  return out;
}

/** Decodes a NATIVE context from its page (or its 232-byte prefix). */
export function decodeNativeContext(data: Uint8Array): NativeContext {
  if (data.length < NATIVE_CONTEXT_SIZE) throw new HclError('IGVM_INVALID_CONTEXT', `native vp context: ${data.length} bytes, need ${NATIVE_CONTEXT_SIZE}`);
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out: Record<string, bigint | number> = {};
  for (const [name, type, at] of NATIVE_FIELDS) {
    out[name] = type === 'u64' ? v.getBigUint64(at, true) : type === 'u32' ? v.getUint32(at, true) : v.getUint16(at, true);
  }
  return out as NativeContext;
}

/** Offset of context data inside the data section; the crate's u32 subtraction would wrap. */
function contextStart(data: DataSection, fileOffset: number): number {
  const start = fileOffset - data.start;
  if (start < 0 || start > data.bytes.length) {
    headerError('IGVM_INVALID_DATA_SIZE', `vp context file offset ${hex(fileOffset)} is outside the data section at ${hex(data.start)}`);
  }
  return start;
}

function page(data: DataSection, fileOffset: number): Uint8Array {
  const start = contextStart(data, fileOffset);
  if (start + PAGE_SIZE_4K > data.bytes.length) headerError('IGVM_INVALID_DATA_SIZE', `vp context page at ${hex(fileOffset)} runs past the end of the file`);
  return data.bytes.subarray(start, start + PAGE_SIZE_4K);
}

/** What decides how a VP context is read besides its platform: the file's architecture and the crate's version. */
export interface ContextRules {
  arch: 'x64' | 'aarch64';
  /** '0.4.0': the SEV VMSA is 1648 bytes and the rest of its page must be zero; 'head': the VMSA is the whole page. */
  crate: '0.4.0' | 'head';
}

/** The register names refused by the crate's VBS conversion for this architecture. */
function checkVbsNames(v: DataView, count: number, arch: ContextRules['arch'], offset: number): void {
  const known = arch === 'x64' ? VBS_X64_REGISTERS : VBS_AARCH64_REGISTERS;
  for (let i = 0; i < count; i++) {
    const name = v.getUint32(4 + 32 * i + 1, true);
    if (!known.has(name)) {
      headerError(arch === 'x64' ? 'IGVM_UNSUPPORTED_X64_REGISTER' : 'IGVM_UNSUPPORTED_AARCH64_REGISTER',
        `vsm vp context at ${hex(offset)}: register ${i} name ${hex(name)} is not one the igvm crate converts for ${arch}`);
    }
  }
}

/**
 * Reads a VP_CONTEXT header's data the way the crate does for the platform whose mask equals the
 * header's mask; the crate's panics (mixed VTLs, vp_index ≠ 0) become IGVM_INVALID_CONTEXT.
 * The result is a view of the file's bytes.
 */
export function readVpContextData(h: VpContext, data: DataSection, platform: number | undefined, rules: ContextRules): Uint8Array {
  const offset = h.fileOffset ?? 0;
  switch (platform) {
    case PlatformType.VSM_ISOLATION: {
      const start = contextStart(data, offset);
      const b = data.bytes;
      if (start + 4 > b.length) headerError('IGVM_INVALID_DATA_SIZE', `vsm vp context at ${hex(offset)}: no room for the register count`);
      const v = new DataView(b.buffer, b.byteOffset + start, b.length - start);
      const count = v.getUint32(0, true);
      let vtl: number | undefined;
      for (let i = 0; i < count; i++) {
        if (4 + 32 * (i + 1) > v.byteLength) headerError('IGVM_INVALID_DATA_SIZE', `vsm vp context at ${hex(offset)}: register ${i} of ${count} runs past the end of the file`);
        const rv = v.getUint8(4 + 32 * i);
        if (vtl !== undefined && rv !== vtl) headerError('IGVM_INVALID_CONTEXT', `vsm vp context at ${hex(offset)}: register ${i} has vtl ${rv}, others ${vtl}`);
        vtl = rv;
      }
      if (h.vpIndex !== 0) headerError('IGVM_INVALID_CONTEXT', `vsm vp context vp_index ${h.vpIndex} must be 0`);
      if (vtl === undefined) headerError('IGVM_NO_VBS_VP_CONTEXT_REGISTERS', `vsm vp context at ${hex(offset)} has no registers`);
      if (vtl > 2) headerError('IGVM_INVALID_VTL', `vsm vp context vtl ${vtl} must be 0, 1 or 2`);
      checkVbsNames(v, count, rules.arch, offset);
      return b.subarray(start, start + 4 + 32 * count);
    }
    case PlatformType.SEV_SNP:
    case PlatformType.SEV_ES: {
      const p = page(data, offset);
      if (rules.crate === '0.4.0' && p.subarray(SEV_VMSA_SIZE).some((x) => x !== 0)) {
        headerError('IGVM_INVALID_VMSA', `sev vmsa at ${hex(offset)}: bytes after the first ${SEV_VMSA_SIZE} are not zero (igvm crate 0.4.0)`);
      }
      return p;
    }
    case PlatformType.NATIVE:
    case PlatformType.SEV: {
      const p = page(data, offset);
      if (p.subarray(NATIVE_CONTEXT_SIZE).some((x) => x !== 0)) {
        headerError('IGVM_INVALID_CONTEXT', `native vp context at ${hex(offset)}: bytes after the first ${NATIVE_CONTEXT_SIZE} are not zero`);
      }
      return p;
    }
    default:
      return headerError('IGVM_INVALID_VP_CONTEXT_PLATFORM_TYPE',
        `vp context mask 0x${h.compatibilityMask.toString(16)} ${platform === undefined ? 'is not exactly one platform\'s mask' : `belongs to platform type ${platform}, which takes no vp context`}`);
  }
}
