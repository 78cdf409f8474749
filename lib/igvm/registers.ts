/**
 * The hypervisor register names a VBS (VSM) VP context may carry: the igvm crate 0.4.0 turns
 * each record into an X86Register / AArch64Register (`registers.rs`, `TryFrom<VbsVpContextRegister>`)
 * and refuses any other name with UnsupportedX64Register / UnsupportedAArch64Register. Values
 * are HvX64RegisterName / HvArm64RegisterName from the crate's `hv_defs.rs`.
 */

/** x64 names the crate 0.4.0 converts (note: no RAX–RDX, RDI or R13–R15). */
export const VBS_X64_REGISTERS: ReadonlyMap<number, string> = new Map([
  [0x0007_0001, 'Gdtr'], [0x0007_0000, 'Idtr'],
  [0x0006_0003, 'Ds'], [0x0006_0000, 'Es'], [0x0006_0004, 'Fs'], [0x0006_0005, 'Gs'], [0x0006_0002, 'Ss'], [0x0006_0001, 'Cs'], [0x0006_0007, 'Tr'],
  [0x0004_0000, 'Cr0'], [0x0004_0002, 'Cr3'], [0x0004_0003, 'Cr4'], [0x0008_0001, 'Efer'], [0x0008_0004, 'Pat'],
  [0x0002_0005, 'Rbp'], [0x0002_0010, 'Rip'], [0x0002_0006, 'Rsi'], [0x0002_0004, 'Rsp'],
  [0x0002_0008, 'R8'], [0x0002_0009, 'R9'], [0x0002_000a, 'R10'], [0x0002_000b, 'R11'], [0x0002_000c, 'R12'], [0x0002_0011, 'Rflags'],
  [0x0008_000e, 'MsrMtrrDefType'],
  [0x0008_0010, 'MsrMtrrPhysBase0'], [0x0008_0040, 'MsrMtrrPhysMask0'], [0x0008_0011, 'MsrMtrrPhysBase1'], [0x0008_0041, 'MsrMtrrPhysMask1'],
  [0x0008_0012, 'MsrMtrrPhysBase2'], [0x0008_0042, 'MsrMtrrPhysMask2'], [0x0008_0013, 'MsrMtrrPhysBase3'], [0x0008_0043, 'MsrMtrrPhysMask3'],
  [0x0008_0014, 'MsrMtrrPhysBase4'], [0x0008_0044, 'MsrMtrrPhysMask4'],
  [0x0008_0070, 'MsrMtrrFix64k00000'], [0x0008_0071, 'MsrMtrrFix16k80000'], [0x0008_0077, 'MsrMtrrFix4kE0000'],
  [0x0008_0078, 'MsrMtrrFix4kE8000'], [0x0008_0079, 'MsrMtrrFix4kF0000'], [0x0008_007a, 'MsrMtrrFix4kF8000'],
]);

/** AArch64 names the crate 0.4.0 converts. */
export const VBS_AARCH64_REGISTERS: ReadonlyMap<number, string> = new Map([
  [0x0002_0022, 'XPc'], [0x0002_0000, 'X0'], [0x0002_0001, 'X1'], [0x0002_0023, 'Cpsr'], [0x0004_0002, 'SctlrEl1'],
  [0x0004_0007, 'TcrEl1'], [0x0004_000b, 'MairEl1'], [0x0004_000c, 'VbarEl1'], [0x0004_0005, 'Ttbr0El1'], [0x0004_0006, 'Ttbr1El1'],
]);
