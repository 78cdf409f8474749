import { HclError } from '../errors.ts';

/**
 * The VTL0 measured config page (`ParavisorMeasuredVtl0Config`, openvmm
 * vm/loader/loader_defs/src/paravisor.rs): what VTL0 image the package carries, measured with the
 * rest. paravisor.rs imports it at PARAVISOR_VTL0_MEASURED_CONFIG_BASE_PAGE_X64 (page 0) or
 * ..._AARCH64 (page 16 << 8, i.e. 16 MiB). The model carries no VTL0 image (no UEFI, PCAT or
 * Linux), so every support bit and region is zero.
 */

/** `ParavisorMeasuredVtl0Config::MAGIC`, the u64 0x4F48434C56544C30 ("OHCLVTL0" read big-endian). */
export const VTL0_CONFIG_MAGIC = 0x4f48_434c_5654_4c30n;
/** GPA of the page per architecture. */
export const VTL0_CONFIG_GPA = { x86_64: 0n, aarch64: 16n << 20n } as const;
/** Bytes of the struct: magic, supported_vtl0 (u64 bits), UefiInfo (2 regions), LinuxInfo (3 regions, 2 u64). */
export const VTL0_CONFIG_SIZE = 8 + 8 + 32 + 64;

/** Which VTL0 images the config says are supported (`SupportedVtl0LoadInfo` bits 0–2). */
export interface Vtl0Support { uefi: boolean; pcat: boolean; linuxDirect: boolean }

/** The page with the magic and the support bits; the UEFI and Linux descriptors stay zero. */
export function encodeVtl0Config(support: Vtl0Support = { uefi: false, pcat: false, linuxDirect: false }): Uint8Array {
  const out = new Uint8Array(4096);
  const v = new DataView(out.buffer);
  v.setBigUint64(0, VTL0_CONFIG_MAGIC, true);
  v.setBigUint64(8, BigInt((support.uefi ? 1 : 0) | (support.pcat ? 2 : 0) | (support.linuxDirect ? 4 : 0)), true);
  return out;
}

/** Reads the magic and support bits back; IGVM_LOAD_INVALID when the magic is wrong. */
export function decodeVtl0Config(page: Uint8Array): Vtl0Support {
  if (page.length < VTL0_CONFIG_SIZE) throw new HclError('IGVM_LOAD_INVALID', `vtl0 measured config: ${page.length} bytes, need ${VTL0_CONFIG_SIZE}`);
  const v = new DataView(page.buffer, page.byteOffset, page.byteLength);
  const magic = v.getBigUint64(0, true);
  if (magic !== VTL0_CONFIG_MAGIC) throw new HclError('IGVM_LOAD_INVALID', `vtl0 measured config: magic 0x${magic.toString(16)} is not OHCLVTL0`);
  const bits = v.getBigUint64(8, true);
  return { uefi: (bits & 1n) !== 0n, pcat: (bits & 2n) !== 0n, linuxDirect: (bits & 4n) !== 0n };
}
