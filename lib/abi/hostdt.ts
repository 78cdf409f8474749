/**
 * Host device-tree constants that the host writes and the shim reads: the values of the
 * `microsoft,igvm-type` property on memory nodes (igvm_defs `MemoryMapEntryType`, read by
 * openhcl bootloader_fdt_parser).
 */

/** `microsoft,igvm-type` values (IGVM memory map entry types). */
export const IGVM_MEMORY_TYPE = { MEMORY: 0, PLATFORM_RESERVED: 1, PERSISTENT: 2, VTL2_PROTECTABLE: 3 } as const;
