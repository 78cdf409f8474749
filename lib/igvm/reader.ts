import { crc32 } from '../bytes/index.ts';
import { HclError, isHclError, type HclErrorCode } from '../errors.ts';
import { checkDirective, checkInitialization, checkPlatform, headerError, variantName } from './checks.ts';
import { readVpContextData, type ContextRules } from './context.ts';
import { extractData, type DataSection } from './datasection.ts';
import { align8, decodeBody, LAYOUT_BY_TYPE, type HeaderLayout } from './layout.ts';
import { IGVM_MAGIC, PAGE_SIZE_4K, PlatformType, headerMask, type FixedHeader, type IgvmFile, type IgvmHeader, type IgvmRevision } from './types.ts';
import { validateFile } from './validate.ts';

type Section = 'platform' | 'initialization' | 'directive';
const WRAPPER: Record<Section, HclErrorCode> = {
  platform: 'IGVM_INVALID_BINARY_PLATFORM_HEADER',
  initialization: 'IGVM_INVALID_BINARY_INITIALIZATION_HEADER',
  directive: 'IGVM_INVALID_BINARY_DIRECTIVE_HEADER',
};
const hex = (v: number): string => `0x${v.toString(16)}`;

function fixed(message: string, code: HclErrorCode = 'IGVM_INVALID_FIXED_HEADER'): never {
  throw new HclError(code, `igvm fixed header: ${message}`);
}

function sectionOf(type: number): Section | undefined {
  if (type >= 0x001 && type <= 0x100) return 'platform';
  if (type >= 0x101 && type <= 0x200) return 'initialization';
  if (type >= 0x301 && type <= 0x400) return 'directive';
  return undefined;
}

function checkReserved(layout: HeaderLayout, body: Uint8Array): void {
  for (const [at, len] of layout.zero) {
    if (body.subarray(at, at + len).some((b) => b !== 0)) headerError('IGVM_RESERVED_NOT_ZERO', `reserved bytes at body offset ${at} are not zero`);
  }
}

/** Parses one header body (the type/length prefix already read) and runs its own checks. */
function parseHeader(
  section: Section, type: number, length: number, rest: Uint8Array, data: DataSection,
  platforms: ReadonlyMap<number, number>, rules: ContextRules,
): { header: IgvmHeader; consumed: number } {
  const layout = LAYOUT_BY_TYPE.get(type);
  if (layout === undefined || sectionOf(layout.type) !== section || length !== layout.size) {
    headerError('IGVM_INVALID_VARIABLE_HEADER_TYPE', `type ${hex(type)} with length ${length} is not a known ${section} header`);
  }
  const consumed = layout.kind === 'VP_CONTEXT' ? align8(layout.size) : layout.size;
  if (rest.length < consumed) headerError('IGVM_INVALID_VARIABLE_HEADER_SIZE', `body needs ${consumed} bytes, section has ${rest.length}`);
  const body = rest.subarray(0, layout.size);
  const h = decodeBody(layout, body) as Record<string, unknown> & { fileOffset?: number };
  const header = h as unknown as IgvmHeader;
  switch (header.kind) {
    case 'SUPPORTED_PLATFORM':
      checkPlatform(header);
      break;
    case 'CORIM_DOCUMENT':
    case 'CORIM_SIGNATURE':
      checkReserved(layout, body);
      header.data = extractData(data, header.fileOffset ?? 0, header.sizeBytes ?? 0);
      break;
    case 'PARAMETER_AREA':
      header.initialData = extractData(data, header.fileOffset ?? 0, header.numberOfBytes);
      break;
    case 'PAGE_DATA':
      header.data = extractData(data, header.fileOffset ?? 0, PAGE_SIZE_4K);
      checkReserved(layout, body);
      break;
    case 'VP_CONTEXT':
      header.data = readVpContextData(header, data, platforms.get(header.compatibilityMask), rules);
      break;
    default:
      checkReserved(layout, body);
  }
  if (section === 'initialization') checkInitialization(header);
  if (section === 'directive') {
    const platform = header.kind === 'VP_CONTEXT' ? platforms.get(header.compatibilityMask) : undefined;
    checkDirective(header, platform === PlatformType.SEV_SNP || platform === PlatformType.SEV_ES);
  }
  return { header, consumed };
}

/** Options of `readIgvm`. */
export interface ReadOptions {
  /**
   * The platform type (PlatformType) a loader reads the file for, as `new_from_binary`'s
   * isolation filter: initialization and directive headers whose mask misses that platform's
   * mask are dropped. Without it (or when the file has no such platform) every mask counts.
   */
  isolationFilter?: number;
  /** Which igvm crate the reader is byte-compatible with; default '0.4.0' (see ContextRules). */
  crate?: ContextRules['crate'];
}

function readFixedHeader(bytes: Uint8Array): { fh: FixedHeader; revision: IgvmRevision; size: number } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u32 = (at: number): number => v.getUint32(at, true);
  // The magic first, so anything that is not IGVM is named as such before its size is judged.
  if (bytes.length >= 4 && u32(0) !== IGVM_MAGIC) fixed(`magic ${hex(u32(0))} is not "IGVM" (0x4d564749)`);
  if (bytes.length < 24) fixed(`file is ${bytes.length} bytes, need at least 24`);
  const fh: FixedHeader = {
    magic: u32(0), formatVersion: u32(4), variableHeaderOffset: u32(8), variableHeaderSize: u32(12),
    totalFileSize: u32(16), checksum: u32(20),
  };
  let revision: IgvmRevision = { version: 1 };
  let size = 24;
  if (fh.formatVersion === 2) {
    if (bytes.length < 32) fixed(`format version 2 needs 32 bytes, file is ${bytes.length}`);
    fh.architecture = u32(24);
    fh.pageSize = u32(28);
    if (fh.architecture > 1) fixed(`architecture ${fh.architecture} is unknown`);
    if (fh.pageSize !== PAGE_SIZE_4K) fixed(`page size ${hex(fh.pageSize)} unsupported`, 'IGVM_UNSUPPORTED_PAGE_SIZE');
    revision = { version: 2, arch: fh.architecture === 0 ? 'x64' : 'aarch64' };
    size = 32;
  } else if (fh.formatVersion !== 1) {
    fixed(`format version ${fh.formatVersion} is not 1 or 2`);
  }
  if (fh.totalFileSize !== bytes.length) fixed(`total file size ${fh.totalFileSize} does not match file length ${bytes.length}`);
  if (fh.variableHeaderOffset >= bytes.length) fixed(`variable header offset ${hex(fh.variableHeaderOffset)} is past the end of the file`);
  if (fh.variableHeaderOffset + fh.variableHeaderSize >= bytes.length) {
    fixed(`variable headers end at ${hex(fh.variableHeaderOffset + fh.variableHeaderSize)}, leaving no file data before ${hex(bytes.length)}`);
  }
  return { fh, revision, size };
}

/**
 * Parses and validates an IGVM file exactly as the igvm crate 0.4.0 does, in its order. Every
 * failure is an HclError whose code names the crate's variant; header errors are wrapped in the
 * section's variant with the inner variant in the message and `context`. As the crate does,
 * headers whose compatibility mask misses the filter (mask 0 always does) are parsed and
 * checked, then dropped before the whole-file rules. Header data are views of `bytes`.
 */
export function readIgvm(bytes: Uint8Array, options: ReadOptions = {}): IgvmFile {
  const { fh, revision, size } = readFixedHeader(bytes);
  const vStart = fh.variableHeaderOffset;
  const dataStart = vStart + fh.variableHeaderSize;
  const fixedCopy = bytes.slice(0, size);
  new DataView(fixedCopy.buffer).setUint32(20, 0, true);
  const expected = crc32(bytes.subarray(vStart, dataStart), crc32(fixedCopy)) >>> 0;
  if (expected !== fh.checksum) {
    throw new HclError('IGVM_INVALID_CHECKSUM', `igvm fixed header: checksum ${hex(fh.checksum)} does not match computed ${hex(expected)}`, {
      context: { expected, headerValue: fh.checksum },
    });
  }
  const data: DataSection = { bytes: bytes.subarray(dataStart), start: dataStart };
  const headers: IgvmHeader[] = [];
  const headerOffsets: number[] = [];
  const platforms = new Map<number, number>();
  const rules: ContextRules = { arch: revision.version === 1 ? 'x64' : revision.arch, crate: options.crate ?? '0.4.0' };
  let filterMask = 0xffff_ffff;
  let stage: Section = 'platform';
  let pos = vStart;
  while (pos < dataStart) {
    const at = pos;
    if (dataStart - pos < 8) {
      throw new HclError('IGVM_INVALID_BINARY_VARIABLE_HEADER_SECTION', `igvm variable header at ${hex(at)}: ${dataStart - pos} bytes left, need 8`);
    }
    const v = new DataView(bytes.buffer, bytes.byteOffset + pos, 8);
    const type = v.getUint32(0, true);
    const length = v.getUint32(4, true);
    const section = sectionOf(type);
    const order: Section[] = ['platform', 'initialization', 'directive'];
    if (section === undefined || order.indexOf(section) < order.indexOf(stage)) {
      throw new HclError('IGVM_INVALID_BINARY_VARIABLE_HEADER_SECTION',
        `igvm variable header at ${hex(at)}: type ${hex(type)} ${section === undefined ? 'is in no section' : `(${section}) comes after a ${stage} header`}`);
    }
    stage = section;
    try {
      const r = parseHeader(section, type, length, bytes.subarray(pos + 8, dataStart), data, platforms, rules);
      pos += 8 + r.consumed;
      if (r.header.kind === 'SUPPORTED_PLATFORM') {
        platforms.set(r.header.compatibilityMask, r.header.platformType);
        if (r.header.platformType === options.isolationFilter) filterMask = r.header.compatibilityMask;
      }
      const mask = section === 'platform' ? undefined : headerMask(r.header);
      if (mask !== undefined && (mask & filterMask) === 0) continue;
      headers.push(r.header);
      headerOffsets.push(at);
    } catch (e) {
      if (!isHclError(e)) throw e;
      const variant = variantName(e.code);
      throw new HclError(WRAPPER[section], `igvm ${section} header ${hex(type)} at ${hex(at)}: ${variant}: ${e.message}`, {
        cause: e, context: { variant, innerCode: e.code, offset: at, type },
      });
    }
  }
  validateFile(revision, headers, headerOffsets);
  return { revision, headers, fixedHeader: fh, headerOffsets, dataStart };
}
