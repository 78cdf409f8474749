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

/** Register values of VP `index` at reset; registers not listed are zero. */
export function resetRegisters(arch: 'x86_64' | 'aarch64', index: number): Record<string, bigint> {
  const names = arch === 'x86_64' ? X86_REGISTERS : AARCH64_REGISTERS;
  const regs: Record<string, bigint> = Object.fromEntries(names.map((n) => [n, 0n]));
  if (arch === 'x86_64') {
    Object.assign(regs, {
      rip: 0xfff0n,
      rflags: 0x2n,
      cr0: 0x6000_0010n,
      csBase: 0xffff_0000n,
      dr7: 0x400n,
      xcr0: 0x1n,
      pat: 0x0007_0406_0007_0406n,
      apicBase: index === 0 ? APIC_BASE | 0x100n : APIC_BASE,
    });
  } else {
    Object.assign(regs, { pstate: 0x3c5n, sctlrEl1: 0x30d0_0800n });
  }
  return regs;
}
