import { PARAMETER_KINDS, type IgvmHeader, type IgvmHeaderKind } from './types.ts';

/** One body field: its model name, width (`u8`…`u64`, or a byte count) and body offset. */
export interface FieldSpec {
  name: string;
  type: 'u8' | 'u16' | 'u32' | 'u64' | number;
  at: number;
}

/** Everything the codecs need to know about one header kind, in one table row. */
export interface HeaderLayout {
  kind: IgvmHeaderKind;
  /** Variable header type code. */
  type: number;
  /** Body size as stored in the length field (the padded size is align8 of it). */
  size: number;
  fields: FieldSpec[];
  /** Reserved byte ranges [at, len) the crate requires to be zero. */
  zero: Array<[number, number]>;
  /** Name of the model property holding file data, if any (its file offset field is `fileOffset`). */
  data?: 'data' | 'initialData';
}

const f = (name: string, type: FieldSpec['type'], at: number): FieldSpec => ({ name, type, at });
const PARAM_FIELDS = [f('parameterAreaIndex', 'u32', 0), f('byteOffset', 'u32', 4)];

const ROWS: HeaderLayout[] = [
  { kind: 'SUPPORTED_PLATFORM', type: 0x001, size: 16, zero: [], fields: [
    f('compatibilityMask', 'u32', 0), f('highestVtl', 'u8', 4), f('platformType', 'u8', 5),
    f('platformVersion', 'u16', 6), f('sharedGpaBoundary', 'u64', 8)] },
  { kind: 'GUEST_POLICY', type: 0x101, size: 16, zero: [[12, 4]], fields: [
    f('policy', 'u64', 0), f('compatibilityMask', 'u32', 8)] },
  { kind: 'RELOCATABLE_REGION', type: 0x102, size: 48, zero: [], fields: [
    f('compatibilityMask', 'u32', 0), f('vpIndex', 'u16', 4), f('vtl', 'u8', 6), f('flags', 'u8', 7),
    f('relocationAlignment', 'u64', 8), f('relocationRegionGpa', 'u64', 16), f('relocationRegionSize', 'u64', 24),
    f('minimumRelocationGpa', 'u64', 32), f('maximumRelocationGpa', 'u64', 40)] },
  { kind: 'PAGE_TABLE_RELOCATION_REGION', type: 0x103, size: 32, zero: [[7, 1]], fields: [
    f('compatibilityMask', 'u32', 0), f('vpIndex', 'u16', 4), f('vtl', 'u8', 6), f('gpa', 'u64', 8),
    f('size', 'u64', 16), f('usedSize', 'u64', 24)] },
  { kind: 'CORIM_DOCUMENT', type: 0x104, size: 16, zero: [[12, 4]], data: 'data', fields: [
    f('compatibilityMask', 'u32', 0), f('fileOffset', 'u32', 4), f('sizeBytes', 'u32', 8)] },
  { kind: 'CORIM_SIGNATURE', type: 0x105, size: 16, zero: [[12, 4]], data: 'data', fields: [
    f('compatibilityMask', 'u32', 0), f('fileOffset', 'u32', 4), f('sizeBytes', 'u32', 8)] },
  { kind: 'CCA_POLICY', type: 0x106, size: 32, zero: [[4, 4], [26, 6]], fields: [
    f('compatibilityMask', 'u32', 0), f('requiredZeroes', 'u64', 8), f('requiredOnes', 'u64', 16),
    f('hashAlgorithm', 'u8', 24), f('lfaPolicy', 'u8', 25)] },
  { kind: 'PARAMETER_AREA', type: 0x301, size: 16, zero: [], data: 'initialData', fields: [
    f('numberOfBytes', 'u64', 0), f('parameterAreaIndex', 'u32', 8), f('fileOffset', 'u32', 12)] },
  { kind: 'PAGE_DATA', type: 0x302, size: 24, zero: [[22, 2]], data: 'data', fields: [
    f('gpa', 'u64', 0), f('compatibilityMask', 'u32', 8), f('fileOffset', 'u32', 12), f('flags', 'u32', 16),
    f('dataType', 'u16', 20)] },
  { kind: 'PARAMETER_INSERT', type: 0x303, size: 16, zero: [], fields: [
    f('gpa', 'u64', 0), f('compatibilityMask', 'u32', 8), f('parameterAreaIndex', 'u32', 12)] },
  { kind: 'VP_CONTEXT', type: 0x304, size: 20, zero: [], data: 'data', fields: [
    f('gpa', 'u64', 0), f('compatibilityMask', 'u32', 8), f('fileOffset', 'u32', 12), f('vpIndex', 'u16', 16),
    f('reserved', 'u16', 18)] },
  { kind: 'REQUIRED_MEMORY', type: 0x305, size: 24, zero: [[20, 4]], fields: [
    f('gpa', 'u64', 0), f('compatibilityMask', 'u32', 8), f('numberOfBytes', 'u32', 12), f('flags', 'u32', 16)] },
  { kind: 'SNP_ID_BLOCK', type: 0x30b, size: 696, zero: [], fields: [
    f('compatibilityMask', 'u32', 0), f('authorKeyEnabled', 'u8', 4), f('reserved', 3, 5), f('ld', 48, 8),
    f('familyId', 16, 56), f('imageId', 16, 72), f('version', 'u32', 88), f('guestSvn', 'u32', 92),
    f('idKeyAlgorithm', 'u32', 96), f('authorKeyAlgorithm', 'u32', 100), f('idKeySignature', 144, 104),
    f('idPublicKey', 152, 248), f('authorKeySignature', 144, 400), f('authorPublicKey', 152, 544)] },
  { kind: 'ERROR_RANGE', type: 0x30d, size: 16, zero: [], fields: [
    f('gpa', 'u64', 0), f('compatibilityMask', 'u32', 8), f('sizeBytes', 'u32', 12)] },
  { kind: 'VBS_MEASUREMENT', type: 0x311, size: 864, zero: [], fields: [
    f('compatibilityMask', 'u32', 0), f('version', 'u32', 4), f('productId', 'u32', 8), f('moduleId', 'u32', 12),
    f('securityVersion', 'u32', 16), f('policyFlags', 'u32', 20), f('bootDigestAlgo', 'u32', 24),
    f('signingAlgo', 'u32', 28), f('bootMeasurementDigest', 64, 32), f('signature', 256, 96), f('publicKey', 512, 352)] },
  ...Object.entries(PARAMETER_KINDS).map(([kind, type]): HeaderLayout =>
    ({ kind: kind as IgvmHeaderKind, type, size: 8, zero: [], fields: PARAM_FIELDS })),
];

/** Layout of every header kind, by kind. */
export const LAYOUT_BY_KIND: ReadonlyMap<IgvmHeaderKind, HeaderLayout> = new Map(ROWS.map((r) => [r.kind, r]));
/** Layout of every header kind, by type code. */
export const LAYOUT_BY_TYPE: ReadonlyMap<number, HeaderLayout> = new Map(ROWS.map((r) => [r.type, r]));

/** The layout of a header kind (every kind has one). */
export function layoutOf(kind: IgvmHeaderKind): HeaderLayout {
  const l = LAYOUT_BY_KIND.get(kind);
  if (l === undefined) throw new TypeError(`unknown IGVM header kind ${String(kind)}`);
  return l;
}

/** Rounds up to the next multiple of 8, as every header starts 8-aligned. */
export const align8 = (n: number): number => (n + 7) & ~7;

/** Decodes a body (exactly `layout.size` bytes) into a header object without data. */
export function decodeBody(layout: HeaderLayout, body: Uint8Array): Record<string, unknown> {
  const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const out: Record<string, unknown> = { kind: layout.kind };
  for (const fl of layout.fields) {
    switch (fl.type) {
      case 'u8': out[fl.name] = v.getUint8(fl.at); break;
      case 'u16': out[fl.name] = v.getUint16(fl.at, true); break;
      case 'u32': out[fl.name] = v.getUint32(fl.at, true); break;
      case 'u64': out[fl.name] = v.getBigUint64(fl.at, true); break;
      default: out[fl.name] = body.slice(fl.at, fl.at + fl.type);
    }
  }
  return out;
}

/** Encodes a header's fields into a zeroed body of `layout.size` bytes; `extra` overrides fields. */
export function encodeBody(layout: HeaderLayout, h: IgvmHeader, extra: Record<string, number> = {}): Uint8Array {
  const body = new Uint8Array(layout.size);
  const v = new DataView(body.buffer);
  const src = h as unknown as Record<string, unknown>;
  for (const fl of layout.fields) {
    const val = fl.name in extra ? extra[fl.name] : src[fl.name];
    const where = `${layout.kind}.${fl.name}`;
    if (typeof fl.type === 'number') {
      if (!(val instanceof Uint8Array) || val.length !== fl.type) throw new TypeError(`${where} must be ${fl.type} bytes`);
      body.set(val, fl.at);
    } else if (fl.type === 'u64') {
      if (typeof val !== 'bigint' || val < 0n || val >= 1n << 64n) throw new TypeError(`${where} must be a u64 bigint`);
      v.setBigUint64(fl.at, val, true);
    } else {
      const bits = fl.type === 'u8' ? 8 : fl.type === 'u16' ? 16 : 32;
      const n = val === undefined && fl.name === 'fileOffset' ? 0 : val;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n >= 2 ** bits) throw new TypeError(`${where} must be a u${bits}`);
      if (bits === 8) v.setUint8(fl.at, n);
      else if (bits === 16) v.setUint16(fl.at, n, true);
      else v.setUint32(fl.at, n, true);
    }
  }
  return body;
}
