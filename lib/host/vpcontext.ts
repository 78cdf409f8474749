import { HV_REGISTER_CODE } from '../abi/index.ts';
import type { VsmRegister } from '../igvm/index.ts';

/**
 * Initial VP state that starts VP 0 at the shim entry, one encoding per platform the packages
 * carry: VSM (hypervisor register records, VTL 2) and SEV-SNP (a VMSA page); TDX has none.
 * Page tables are not modelled: x86 starts in long mode with CR3 0.
 */

/** Long mode with paging: CR0 PE|ET|NE|WP|PG, CR4 PAE|OSFXSR|OSXMMEXCPT, EFER LME|LMA|NXE. */
const X64 = { cr0: 0x8001_0031n, cr4: 0x620n, efer: 0xd00n, rflags: 0x2n } as const;
/** AArch64 PSTATE: EL1h with D, A, I, F masked. */
const ARM64_CPSR = 0x3c5n;
/** SEV-ES save-area offsets (AMD APM vol. 2, table B-4) of the fields the model sets. */
export const VMSA_OFFSET = { efer: 0xd0, cr4: 0x148, cr0: 0x158, rflags: 0x170, rip: 0x178, sevFeatures: 0x3b0 } as const;

const value = (v: bigint): Uint8Array => {
  const out = new Uint8Array(16);
  new DataView(out.buffer).setBigUint64(0, v, true);
  return out;
};

/** VSM register records (VTL 2) with the program counter at `entry`. */
export function vsmRegisters(arch: 'x86_64' | 'aarch64', entry: bigint): VsmRegister[] {
  const regs: Array<[string, bigint]> = arch === 'x86_64'
    ? [['rip', entry], ['rflags', X64.rflags], ['cr0', X64.cr0], ['cr4', X64.cr4], ['efer', X64.efer]]
    : [['pc', entry], ['pstate', ARM64_CPSR]];
  const codes = HV_REGISTER_CODE[arch];
  return regs.map(([reg, v]) => ({ vtl: 2, name: codes[reg] as number, value: value(v) }));
}

/** SEV-SNP VMSA page with RIP at `entry` and SNP active in SEV_FEATURES. */
export function snpVmsa(entry: bigint): Uint8Array {
  const out = new Uint8Array(4096);
  const v = new DataView(out.buffer);
  v.setBigUint64(VMSA_OFFSET.rip, entry, true);
  v.setBigUint64(VMSA_OFFSET.rflags, X64.rflags, true);
  v.setBigUint64(VMSA_OFFSET.cr0, X64.cr0, true);
  v.setBigUint64(VMSA_OFFSET.cr4, X64.cr4, true);
  v.setBigUint64(VMSA_OFFSET.efer, X64.efer | 0x1000n, true); // SVME is required under SEV
  v.setBigUint64(VMSA_OFFSET.sevFeatures, 1n, true);
  return out;
}
