/**
 * hvdef register codes (openvmm vm/hv1/hvdef/src/lib.rs, `HvX64RegisterName` and
 * `HvArm64RegisterName`) of the per-VP registers the model keeps that are one 64-bit value,
 * keyed by the model's register names (lib/hv/registers.ts). Whoever issues a register hypercall
 * (the sidecar's GET/SET_VP_REGISTERS) and the hypervisor that serves it agree on these. Segment
 * and descriptor-table bases are parts of 128-bit registers there, and some EL1 registers have no
 * code, so they are absent.
 */

const gprs = (names: readonly string[]): Record<string, number> => Object.fromEntries(names.map((n, i) => [n, 0x0002_0000 + i]));

/** Register code by register name, per architecture. */
export const HV_REGISTER_CODE: Readonly<Record<'x86_64' | 'aarch64', Readonly<Record<string, number>>>> = {
  x86_64: {
    ...gprs(['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip', 'rflags']),
    cr0: 0x0004_0000, cr2: 0x0004_0001, cr3: 0x0004_0002, cr4: 0x0004_0003, cr8: 0x0004_0004, xcr0: 0x0004_0005,
    dr7: 0x0005_0005, efer: 0x0008_0001, kernelGsBase: 0x0008_0002, apicBase: 0x0008_0003, pat: 0x0008_0004, tscAux: 0x0008_007b,
  },
  aarch64: {
    ...gprs(Array.from({ length: 31 }, (_, i) => `x${i}`)),
    sp: 0x0002_001f, pc: 0x0002_0022, pstate: 0x0002_0023,
    sctlrEl1: 0x0004_0002, ttbr0El1: 0x0004_0005, ttbr1El1: 0x0004_0006, tcrEl1: 0x0004_0007,
    mairEl1: 0x0004_000b, vbarEl1: 0x0004_000c, elrEl1: 0x0004_0015,
  },
};
