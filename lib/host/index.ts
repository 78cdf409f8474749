// Host VMM side: host device tree and ACPI tables from a VmConfig, the OpenHCL IGVM package, the loader.

// host device tree and ACPI tables
export { buildHostDt, hostBootargs, hostDtb, nvmeDmaPages, COM_PORTS } from './devicetree.ts';
export { hostSlit, hostPptt, distanceMatrix, acpiTable, PPTT_FLAGS } from './acpi.ts';
// package
export {
  buildPackage, buildInitrd, usermodeBinary, platformFor, packageKindFor, PACKAGE_ISOLATIONS, PARAMETER_AREA, VTOM_BIT,
  type PackageKind, type PackageOptions,
} from './package.ts';
export { VTL0_CONFIG_GPA, VTL0_CONFIG_MAGIC, encodeVtl0Config, decodeVtl0Config, type Vtl0Support } from './vtl0config.ts';
export { buildImage, readImageHeader, shimImage, IMAGE_MAGIC, IMAGE_VERSIONS, IMAGE_SIZES, IMAGE_ENTRY_OFFSET, type ImageHeader, type ImageKind } from './images.ts';
export { vsmRegisters, snpVmsa, VMSA_OFFSET } from './vpcontext.ts';
// loader
export { loadIgvm, type HostLoadParams, type LoadedIgvm } from './loader.ts';
// convenience: everything the host derives from a config
export { packageOptionsFor, hostParamsFor, DEFAULT_USERMODE_VERSION } from './fromconfig.ts';
