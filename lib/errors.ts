/**
 * hclckpt's one error type. Every failure that comes from bad input, a broken file, a refused
 * restore or a damaged store is an `HclError` with a stable `code`; messages may improve, codes
 * do not change. Programming mistakes stay plain `TypeError`s.
 */

/**
 * Every stable error code, grouped by what raised it, with the CLI exit code each maps to:
 * 2 = bad input (the user gave something broken), 1 = a check failed (the input was fine, the
 * thing it checked is not).
 */
export const ERROR_CODES = {
  // generic input
  USAGE: 2,
  FILE_NOT_FOUND: 2,
  FILE_IO: 2,
  FILE_EXISTS: 2,
  FILE_NOT_REGULAR: 2,
  FILE_TOO_LARGE: 2,
  JSON_INVALID: 2,
  NOT_SUPPORTED: 2,
  // bytes
  BYTES_OUT_OF_RANGE: 2,
  // flattened device tree
  FDT_TRUNCATED: 2,
  FDT_BAD_MAGIC: 2,
  FDT_BAD_VERSION: 2,
  FDT_BAD_HEADER: 2,
  FDT_BAD_STRUCTURE: 2,
  FDT_TOO_DEEP: 2,
  FDT_TOO_LARGE: 2,
  FDT_BAD_PROPERTY: 2,
  FDT_NOT_FOUND: 2,
  FDT_INVALID_TREE: 2,
  // IGVM: file level (named after the igvm crate's error variants)
  IGVM_TRUNCATED: 2,
  IGVM_NO_PLATFORM_HEADERS: 2,
  IGVM_FILE_DATA_SECTION_TOO_LARGE: 2,
  IGVM_VARIABLE_HEADER_SECTION_TOO_LARGE: 2,
  IGVM_TOTAL_FILE_SIZE_TOO_LARGE: 2,
  IGVM_INVALID_BINARY_PLATFORM_HEADER: 2,
  IGVM_INVALID_BINARY_INITIALIZATION_HEADER: 2,
  IGVM_INVALID_BINARY_DIRECTIVE_HEADER: 2,
  IGVM_MULTIPLE_PLATFORM_HEADERS_WITH_SAME_ISOLATION: 2,
  IGVM_INVALID_PARAMETER_AREA_INDEX: 2,
  IGVM_INVALID_PLATFORM_TYPE: 2,
  IGVM_NO_FREE_COMPATIBILITY_MASKS: 2,
  IGVM_INVALID_FIXED_HEADER: 2,
  IGVM_INVALID_BINARY_VARIABLE_HEADER_SECTION: 2,
  IGVM_INVALID_CHECKSUM: 2,
  IGVM_INVALID_CCA_POLICY_COMPATIBILITY_MASK: 2,
  IGVM_MULTIPLE_PAGE_TABLE_RELOCATION_HEADERS: 2,
  IGVM_RELOCATION_REGIONS_OVERLAP: 2,
  IGVM_PARAMETER_INSERT_INSIDE_PAGE_TABLE_REGION: 2,
  IGVM_NO_MATCHING_VP_CONTEXT: 2,
  IGVM_PLATFORM_ARCH_UNSUPPORTED: 2,
  IGVM_INVALID_HEADER_ARCH: 2,
  IGVM_UNSUPPORTED_PAGE_SIZE: 2,
  // IGVM: header level
  IGVM_UNALIGNED_ADDRESS: 2,
  IGVM_UNALIGNED_SIZE: 2,
  IGVM_INVALID_DATA_SIZE: 2,
  IGVM_INVALID_VARIABLE_HEADER_SIZE: 2,
  IGVM_INVALID_VARIABLE_HEADER_TYPE: 2,
  IGVM_INVALID_PAGE_DATA_TYPE: 2,
  IGVM_INVALID_VP_CONTEXT_PLATFORM_TYPE: 2,
  IGVM_INVALID_VMSA: 2,
  IGVM_INVALID_CONTEXT: 2,
  IGVM_INVALID_COMPATIBILITY_MASK: 2,
  IGVM_INVALID_VTL: 2,
  IGVM_INVALID_PLATFORM_VERSION: 2,
  IGVM_INVALID_SHARED_GPA_BOUNDARY: 2,
  IGVM_INVALID_ONES_ZEROES_MASKS: 2,
  IGVM_RESERVED_NOT_ZERO: 2,
  IGVM_NO_VBS_VP_CONTEXT_REGISTERS: 2,
  IGVM_UNSUPPORTED_X64_REGISTER: 2,
  IGVM_UNSUPPORTED_AARCH64_REGISTER: 2,
  IGVM_RELOCATION_SIZE: 2,
  IGVM_RELOCATION_ALIGNMENT: 2,
  IGVM_RELOCATION_ADDRESS: 2,
  IGVM_INVALID_PAGE_TABLE_REGION_SIZE: 2,
  // IGVM: writer and loader
  IGVM_WRITE_INVALID: 2,
  IGVM_JSON_INVALID: 2,
  IGVM_PARAMETER_DOES_NOT_FIT: 2,
  IGVM_PARAMETER_AREA_INSERTED: 2,
  IGVM_NO_PLATFORM_FOR_ISOLATION: 2,
  IGVM_ARCH_MISMATCH: 2,
  IGVM_LOAD_INVALID: 2,
  // configuration
  CONFIG_INVALID: 2,
  PRESET_UNKNOWN: 2,
  // guest memory
  MEMORY_OUT_OF_RANGE: 2,
  // openhcl_boot shim
  SHIM_PARAMS_INVALID: 2,
  SHIM_HOST_DT_INVALID: 2,
  SHIM_CPUS_INVALID: 2,
  SHIM_MEMORY_INVALID: 2,
  SHIM_OPENHCL_NODE_INVALID: 2,
  SHIM_VMBUS_INVALID: 2,
  SHIM_MMIO_INVALID: 2,
  SHIM_VTL2_MEMORY_INVALID: 2,
  SHIM_CMDLINE_TOO_LONG: 2,
  SHIM_LIMIT_EXCEEDED: 2,
  SHIM_PERSISTED_STATE_INVALID: 2,
  // sidecar
  SIDECAR_INVALID: 2,
  SIDECAR_BAD_STATE: 1,
  // kernel / procfs
  KERNEL_HANDOFF_INVALID: 2,
  KERNEL_INITRD_INVALID: 2,
  KERNEL_CPULIST_INVALID: 2,
  KERNEL_CPU_INVALID: 2,
  PROCFS_NOT_FOUND: 2,
  // openvmm_hcl
  HCL_DISCOVERY_INVALID: 1,
  HCL_TOPOLOGY_INVALID: 1,
  HCL_DEVICE_INVALID: 2,
  // hypervisor partition model
  HV_INVALID: 2,
  // topology and servicing
  TOPOLOGY_MISMATCH: 1,
  SHIM_PANIC: 1,
  RESTORE_INCONSISTENT: 1,
  SERVICING_REFUSED: 1,
  SERVICING_TIMEOUT: 1,
  VM_CRASHED: 1,
  SERVICING_FAILED: 1,
  RESTORE_PROOF_FAILED: 1,
  // saved state
  STATE_SCHEMA: 2,
  STATE_DECODE: 2,
  STATE_UNKNOWN_UNIT: 2,
  STATE_DUPLICATE_UNIT: 2,
  STATE_GENERATION: 2,
  STATE_TYPE_MISMATCH: 2,
  STATE_UNKNOWN_ENTRY: 1,
  SCHEMA_INCOMPATIBLE: 1,
  // snapshot store
  STORE_CORRUPT: 1,
  STORE_LOCKED: 2,
  STORE_NOT_FOUND: 2,
  STORE_AMBIGUOUS_REF: 2,
  STORE_WRITE_FAILED: 1,
  STORE_IO: 2,
  STORE_CONFLICT: 2,
  STORE_CLOSED: 1,
  SNAPSHOT_TOO_LARGE: 2,
  ARCHIVE_CORRUPT: 1,
  ARCHIVE_INVALID: 2,
  // overrides
  OVERRIDE_INVALID: 2,
  // checks and tooling
  CHECK_FAILED: 1,
  FAULT_INJECTED: 1,
  KERNEL_SETUP_FAILED: 2,
  KERNEL_CHECK_FAILED: 1,
  KERNEL_BOOT_FAILED: 1,
  PROPERTY_FAILED: 1,
  /** A recorded property run can no longer be replayed (the property or its arbitraries changed). */
  PROPERTY_REPLAY: 2,
} as const satisfies Record<string, 1 | 2>;

/** The closed union of stable error codes. */
export type HclErrorCode = keyof typeof ERROR_CODES;

/** A failure with a stable code; `message` is lowercase and starts with its context. */
export class HclError extends Error {
  override readonly name = 'HclError';
  /** Stable, machine-readable code; part of hclckpt's interface. */
  readonly code: HclErrorCode;
  /**
   * Structured facts for `--json` output (field paths, offsets, differences). Not called
   * `details`: uvu's reporter treats a thrown error's `details` as a diff string and crashes.
   */
  readonly context: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: HclErrorCode,
    message: string,
    options: { cause?: unknown; context?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.context = options.context;
  }

  /** CLI exit code: 2 for bad input, 1 for a failed check. */
  get exitCode(): 1 | 2 {
    return ERROR_CODES[this.code];
  }
}

/** True when `e` is an HclError, optionally with the given code. Checks the code, not the class. */
export function isHclError(e: unknown, code?: HclErrorCode): e is HclError {
  if (typeof e !== 'object' || e === null) return false;
  const c = (e as { code?: unknown }).code;
  if (typeof c !== 'string' || !Object.hasOwn(ERROR_CODES, c)) return false;
  return code === undefined || c === code;
}
