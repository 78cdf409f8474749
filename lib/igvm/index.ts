// IGVM file format (igvm crate 0.4 compatible): model, reader, writer, JSON, loader helpers.

// model
export {
  IGVM_MAGIC, PAGE_SIZE_4K, NATIVE_CONTEXT_SIZE, SEV_VMSA_SIZE, PlatformType, Architecture, PageDataType, PageDataFlags,
  RelocationFlags, MemoryMapEntryType, PARAMETER_KINDS, headerMask, isParameterUsage,
} from './types.ts';
export type {
  IgvmRevision, IgvmHeader, IgvmHeaderKind, IgvmFile, IgvmFileInput, FixedHeader, ParameterKind,
  SupportedPlatform, GuestPolicy, RelocatableRegion, PageTableRelocationRegion, CorimData, CcaPolicy, ParameterArea,
  PageData, ParameterInsert, VpContext, RequiredMemory, ParameterUsage, SnpIdBlock, ErrorRange, VbsMeasurement,
} from './types.ts';
export { LAYOUT_BY_KIND, LAYOUT_BY_TYPE, layoutOf } from './layout.ts';
export type { HeaderLayout, FieldSpec } from './layout.ts';

// codec
export { readIgvm } from './reader.ts';
export type { ReadOptions } from './reader.ts';
export { writeIgvm, fixChecksum } from './writer.ts';
export type { WriteOptions } from './writer.ts';
export { platformName, maskBits } from './validate.ts';

// VP context data
export { encodeVsmContext, decodeVsmContext, encodeNativeContext, decodeNativeContext, NATIVE_GPRS } from './context.ts';
export type { VsmRegister, NativeContext, ContextRules } from './context.ts';
export { VBS_X64_REGISTERS, VBS_AARCH64_REGISTERS } from './registers.ts';

// loader semantics
export {
  selectPlatform, headersFor, ParameterAreas, encodeMemoryMap, decodeMemoryMap, encodeMmioRanges, decodeMmioRanges,
  encodeVpCount, encodeEnvironmentInfo, encodeCommandLine, decodeCommandLine,
} from './params.ts';
export type { MemoryMapEntry, MmioRange } from './params.ts';

// JSON and inspection
export { igvmToJson, igvmFromJson, IGVM_JSON_FORMAT } from './json.ts';
export type { IgvmJson, JsonBlob } from './json.ts';
export { summarizeIgvm, renderIgvmSummary } from './inspect.ts';
export type { IgvmSummary, PageRange } from './inspect.ts';
