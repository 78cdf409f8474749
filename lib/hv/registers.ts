import { HV_REGISTER_CODE } from '../abi/index.ts';

/**
 * Architectural registers the hypervisor keeps per VP, and their values at reset. x86_64
 * reset values follow the Intel SDM vol. 3 §9.1.1 (RIP 0xfff0 with CS base 0xffff0000, RFLAGS 2,
 * CR0 0x60000010); aarch64 ones the Arm ARM (EL1h with DAIF masked, SCTLR_EL1 RES1 bits).
 */

const gprs = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];

/** x86_64 register names, in save order. */
export const X86_REGISTERS: readonly string[] = [
  ...gprs,
  'rip', 'rflags', 'cr0', 'cr2', 'cr3', 'cr4', 'cr8', 'efer', 'dr7', 'xcr0',
  'esBase', 'csBase', 'ssBase', 'dsBase', 'fsBase', 'gsBase', 'gdtrBase', 'idtrBase',
  'apicBase', 'kernelGsBase', 'pat', 'tscAux',
];

/** aarch64 register names, in save order. */
export const AARCH64_REGISTERS: readonly string[] = [
  ...Array.from({ length: 31 }, (_, i) => `x${i}`),
  'sp', 'pc', 'pstate', 'sctlrEl1', 'tcrEl1', 'ttbr0El1', 'ttbr1El1', 'mairEl1', 'vbarEl1',
  'elrEl1', 'spsrEl1', 'spEl1', 'tpidrEl1', 'cntvCtlEl0', 'cntvCvalEl0',
];

/** Local APIC base: the default address with the global enable bit (and BSP for VP 0). */
const APIC_BASE = 0xfee0_0000n | 0x800n;

// Reset values shared by every VP, in save order; built once, copied per VP (a boot resets
// thousands of VPs, and building each from entries was a visible part of it).
const RESET: Record<'x86_64' | 'aarch64', Readonly<Record<string, bigint>>> = {
  x86_64: {
    ...Object.fromEntries(X86_REGISTERS.map((n) => [n, 0n])),
    rip: 0xfff0n,
    rflags: 0x2n,
    cr0: 0x6000_0010n,
    csBase: 0xffff_0000n,
    dr7: 0x400n,
    xcr0: 0x1n,
    pat: 0x0007_0406_0007_0406n,
    apicBase: APIC_BASE,
  },
  aarch64: { ...Object.fromEntries(AARCH64_REGISTERS.map((n) => [n, 0n])), pstate: 0x3c5n, sctlrEl1: 0x30d0_0800n },
};

/** Register values of VP `index` at reset; registers not listed are zero. */
export function resetRegisters(arch: 'x86_64' | 'aarch64', index: number): Record<string, bigint> {
  const regs = { ...RESET[arch] };
  if (arch === 'x86_64' && index === 0) regs['apicBase'] = APIC_BASE | 0x100n; // the BSP flag
  return regs;
}

// Register hypercalls name registers by hvdef code (abi/hvdef.ts); this is the reverse lookup.
const BY_CODE = {
  x86_64: new Map(Object.entries(HV_REGISTER_CODE.x86_64).map(([n, c]) => [c, n])),
  aarch64: new Map(Object.entries(HV_REGISTER_CODE.aarch64).map(([n, c]) => [c, n])),
};

/** The register a hypercall's register code names, or undefined when this model has none under it. */
export function registerByCode(arch: 'x86_64' | 'aarch64', code: number): string | undefined {
  return BY_CODE[arch].get(code);
}
