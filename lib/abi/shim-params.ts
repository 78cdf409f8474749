import { ByteReader, ByteWriter } from '../bytes/index.ts';
import { HclError } from '../errors.ts';

/**
 * Build-time shim parameters, stored as bytes inside the shim image (after `ShimParamsRaw`,
 * openvmm vm/loader/loader_defs shim.rs): i64 offsets relative to the shim base and u64 sizes.
 * The model prefixes the record with the magic "OHCLSHIM" so a zeroed page never decodes.
 */
export interface ShimParams {
  /** Kernel entry point. */
  kernelEntryOffset: bigint;
  /** Static command line page (`ParavisorCommandLine`). */
  cmdlineOffset: bigint;
  initrdOffset: bigint;
  initrdSize: bigint;
  /** crc32 of the initrd bytes. */
  initrdCrc: number;
  /** Supported isolation type: 1 VBS (also for no isolation), 2 SNP, 3 TDX; 0 (none) only in older model packages. */
  supportedIsolationType: IsolationTypeCode;
  /** All of VTL2 memory as loaded (measured range). */
  memoryStartOffset: bigint;
  memorySize: bigint;
  parameterRegionOffset: bigint;
  parameterRegionSize: bigint;
  vtl2ReservedRegionOffset: bigint;
  vtl2ReservedRegionSize: bigint;
  /** Sidecar image; size 0 when the package has none (always on aarch64). */
  sidecarOffset: bigint;
  sidecarSize: bigint;
  sidecarEntryOffset: bigint;
  /** The range the IGVM image occupies: `[usedStart, usedEnd)`. */
  usedStart: bigint;
  usedEnd: bigint;
  bounceBufferStart: bigint;
  bounceBufferSize: bigint;
  logBufferStart: bigint;
  logBufferSize: bigint;
  heapStartOffset: bigint;
  heapSize: bigint;
  persistedStateRegionOffset: bigint;
  persistedStateRegionSize: bigint;
}

/** Isolation type codes in `supportedIsolationType`. */
export type IsolationTypeCode = 0 | 1 | 2 | 3;
/** Isolation names by code (index = code). */
export const ISOLATION_NAMES = ['none', 'vbs', 'snp', 'tdx'] as const;
/** An isolation type name. */
export type IsolationName = (typeof ISOLATION_NAMES)[number];

/** Byte offset of the encoded parameters inside the shim image. */
export const SHIM_PARAMS_OFFSET = 0x100;
/** Size of the shim image the model places (one 64 KiB blob; params live inside it). */
export const SHIM_IMAGE_SIZE = 0x10000;

// One table drives encode, decode and the documented offsets: [field, kind]. Offsets follow in
// order after the 8-byte magic; `u32` fields come in the one aligned pair (crc, isolation).
const FIELDS: ReadonlyArray<readonly [keyof ShimParams, 'i64' | 'u64' | 'u32']> = [
  ['kernelEntryOffset', 'i64'], ['cmdlineOffset', 'i64'], ['initrdOffset', 'i64'], ['initrdSize', 'u64'],
  ['initrdCrc', 'u32'], ['supportedIsolationType', 'u32'],
  ['memoryStartOffset', 'i64'], ['memorySize', 'u64'],
  ['parameterRegionOffset', 'i64'], ['parameterRegionSize', 'u64'],
  ['vtl2ReservedRegionOffset', 'i64'], ['vtl2ReservedRegionSize', 'u64'],
  ['sidecarOffset', 'i64'], ['sidecarSize', 'u64'], ['sidecarEntryOffset', 'i64'],
  ['usedStart', 'i64'], ['usedEnd', 'i64'],
  ['bounceBufferStart', 'i64'], ['bounceBufferSize', 'u64'],
  ['logBufferStart', 'i64'], ['logBufferSize', 'u64'],
  ['heapStartOffset', 'i64'], ['heapSize', 'u64'],
  ['persistedStateRegionOffset', 'i64'], ['persistedStateRegionSize', 'u64'],
];

const MAGIC = 0x4d4948534c43484fn; // "OHCLSHIM" little-endian
/** Bytes of the encoded record (magic + fields). */
export const SHIM_PARAMS_SIZE = 8 + FIELDS.reduce((n, [, k]) => n + (k === 'u32' ? 4 : 8), 0);

/** Encodes shim parameters to their `SHIM_PARAMS_SIZE` bytes. */
export function encodeShimParams(p: ShimParams): Uint8Array {
  const w = new ByteWriter(SHIM_PARAMS_SIZE).u64(MAGIC);
  for (const [name, kind] of FIELDS) {
    const v = p[name];
    if (kind === 'u32') w.u32(Number(v));
    else if (kind === 'i64') w.i64(BigInt(v));
    else w.u64(BigInt(v));
  }
  return w.finish();
}

const PAGE = 0x1000n;
// Regions that must be page-aligned and lie inside VTL2 memory: [offset, size, name].
const REGIONS: ReadonlyArray<readonly [keyof ShimParams, keyof ShimParams, string]> = [
  ['cmdlineOffset', 'cmdlineOffset', 'command line page'],
  ['parameterRegionOffset', 'parameterRegionSize', 'parameter region'],
  ['vtl2ReservedRegionOffset', 'vtl2ReservedRegionSize', 'reserved region'],
  ['sidecarOffset', 'sidecarSize', 'sidecar image'],
  ['bounceBufferStart', 'bounceBufferSize', 'bounce buffer'],
  ['logBufferStart', 'logBufferSize', 'log buffer'],
  ['heapStartOffset', 'heapSize', 'heap'],
  ['persistedStateRegionOffset', 'persistedStateRegionSize', 'persisted-state region'],
];

/** Decodes and checks shim parameters; SHIM_PARAMS_INVALID names the bad field. */
export function decodeShimParams(bytes: Uint8Array): ShimParams {
  const r = new ByteReader(bytes, 'shim parameters', 'SHIM_PARAMS_INVALID');
  const magic = r.u64();
  if (magic !== MAGIC) throw invalid(`bad magic 0x${magic.toString(16)}`);
  const out: Record<string, bigint | number> = {};
  for (const [name, kind] of FIELDS) out[name] = kind === 'u32' ? r.u32() : kind === 'i64' ? r.i64() : r.u64();
  const p = out as unknown as ShimParams;
  if (p.supportedIsolationType > 3) throw invalid(`supported isolation type ${p.supportedIsolationType} is not 0..3`);
  if (p.memorySize === 0n || p.memorySize % PAGE !== 0n || p.memoryStartOffset % PAGE !== 0n) {
    throw invalid(`vtl2 memory ${p.memoryStartOffset}+0x${p.memorySize.toString(16)} is empty or not page-aligned`);
  }
  if (p.parameterRegionSize === 0n) throw invalid('parameter region is empty');
  const memEnd = p.memoryStartOffset + p.memorySize;
  const inside = (name: string, off: bigint, size: bigint): void => {
    if (off % PAGE !== 0n || size % PAGE !== 0n) throw invalid(`${name} at offset ${off} size 0x${size.toString(16)} is not page-aligned`);
    if (size > 0n && (off < p.memoryStartOffset || off + size > memEnd)) throw invalid(`${name} at offset ${off} size 0x${size.toString(16)} is outside vtl2 memory`);
  };
  for (const [o, s, name] of REGIONS) inside(name, p[o] as bigint, o === s ? PAGE : (p[s] as bigint));
  if (p.usedStart > p.usedEnd || p.usedStart < p.memoryStartOffset || p.usedEnd > memEnd) {
    throw invalid(`used range ${p.usedStart}..${p.usedEnd} is outside vtl2 memory`);
  }
  if (p.initrdSize > 0n && (p.initrdOffset < p.memoryStartOffset || p.initrdOffset + p.initrdSize > memEnd)) {
    throw invalid(`initrd at offset ${p.initrdOffset} size 0x${p.initrdSize.toString(16)} is outside vtl2 memory`);
  }
  return p;
}

function invalid(why: string): HclError {
  return new HclError('SHIM_PARAMS_INVALID', `shim parameters: ${why}`);
}

/** Page ranges of the parameter region (openvmm loader_defs paravisor.rs), in 4 KiB pages. */
export const PARAM_REGION_PAGES = {
  slit: { first: 0, count: 20 },
  pptt: { first: 20, count: 20 },
  deviceTree: { first: 40, count: 64 },
  acceptedRegions: { first: 104, count: 1 },
  measuredConfig: { first: 105, count: 1 },
  pageHashes: { first: 106, count: 256 },
} as const;
/** Pages in the whole parameter region. */
export const PARAM_REGION_PAGE_COUNT = 362;

const MEASURED_MAGIC = 0x324c54564c43484fn; // "OHCLVTL2" little-endian
/** `ParavisorMeasuredVtl2Config`: magic "OHCLVTL2", vtom_offset_bit u8 (0 = no vTOM), 7 pad. */
export interface MeasuredVtl2Config {
  vtomOffsetBit: number;
}

/** Encodes the measured VTL2 config page (one page, zero padded). */
export function encodeMeasuredConfig(c: MeasuredVtl2Config): Uint8Array {
  const out = new Uint8Array(4096);
  out.set(new ByteWriter(16).u64(MEASURED_MAGIC).u8(c.vtomOffsetBit).zeros(7).finish());
  return out;
}

/** Decodes the measured VTL2 config page; SHIM_PARAMS_INVALID on a bad magic. */
export function decodeMeasuredConfig(bytes: Uint8Array): MeasuredVtl2Config {
  const r = new ByteReader(bytes, 'measured vtl2 config', 'SHIM_PARAMS_INVALID');
  if (r.u64() !== MEASURED_MAGIC) throw invalid('measured vtl2 config: bad magic (want OHCLVTL2)');
  return { vtomOffsetBit: r.u8() };
}

/** Command line policy: 0 STATIC (static line only), 1 APPEND_CHOSEN (+ host bootargs if trusted). */
export type CommandLinePolicy = 'static' | 'append-chosen';
/** The static command line page (`ParavisorCommandLine`): policy u16, length u16, 4092 bytes UTF-8. */
export interface ParavisorCommandLine {
  policy: CommandLinePolicy;
  line: string;
}
/** Bytes of command line text the page holds. */
export const COMMAND_LINE_MAX = 4092;

/** Encodes the static command line page (4096 bytes); SHIM_CMDLINE_TOO_LONG over 4092 bytes. */
export function encodeCommandLinePage(c: ParavisorCommandLine): Uint8Array {
  const text = new TextEncoder().encode(c.line);
  if (text.length > COMMAND_LINE_MAX) {
    throw new HclError('SHIM_CMDLINE_TOO_LONG', `static command line: ${text.length} bytes exceed ${COMMAND_LINE_MAX}`);
  }
  const out = new Uint8Array(4096);
  out.set(new ByteWriter(4).u16(c.policy === 'static' ? 0 : 1).u16(text.length).finish());
  out.set(text, 4);
  return out;
}

/** Decodes the static command line page; SHIM_PARAMS_INVALID on a bad policy, length or UTF-8. */
export function decodeCommandLinePage(bytes: Uint8Array): ParavisorCommandLine {
  const r = new ByteReader(bytes, 'static command line page', 'SHIM_PARAMS_INVALID');
  const policy = r.u16();
  const len = r.u16();
  if (policy > 1) throw invalid(`static command line: policy ${policy} is not 0 (static) or 1 (append-chosen)`);
  if (len > COMMAND_LINE_MAX) throw invalid(`static command line: length ${len} exceeds ${COMMAND_LINE_MAX}`);
  let line: string;
  try {
    line = new TextDecoder('utf-8', { fatal: true }).decode(r.bytes(len));
  } catch (e) {
    if (e instanceof HclError) throw e;
    throw new HclError('SHIM_PARAMS_INVALID', 'static command line: not valid UTF-8', { cause: e });
  }
  return { policy: policy === 0 ? 'static' : 'append-chosen', line };
}

/** A guest physical region. */
export interface Region {
  gpa: bigint;
  size: bigint;
}

/** Where everything of the OpenHCL image sits in VTL2 memory; both host and shim use it. */
export interface ShimLayout {
  vtl2: Region;
  shim: Region;
  /** GPA of the encoded ShimParams (shim base + SHIM_PARAMS_OFFSET). */
  shimParamsGpa: bigint;
  cmdlinePage: Region;
  paramRegion: Region;
  reserved: Region;
  persisted: Region;
  logBuffer: Region;
  heap: Region;
  bounceBuffer: Region;
  /** Sidecar image (size 0 on aarch64 or when disabled at build time). */
  sidecar: Region;
  sidecarEntry: bigint;
  kernel: Region;
  kernelEntry: bigint;
  initrd: Region;
  /** `[vtl2 base, end of heap)`: what the image occupies. */
  used: Region;
  /** The same layout as shim parameters (offsets relative to the shim base). */
  params: ShimParams;
}

/** Sizes for `defaultLayout`; every field has a default. */
export interface LayoutOptions {
  arch: 'x86_64' | 'aarch64';
  isolation: IsolationName;
  kernelSize: number;
  kernelEntryOffset: number;
  initrdSize: number;
  initrdCrc: number;
  /** Sidecar image size; defaults to 64 KiB on x86_64, always 0 on aarch64. */
  sidecarSize: number;
  bounceBufferSize: number;
  reservedSize: number;
  persistedSize: number;
}

/** Offsets inside the shim heap where the shim puts what it hands to the kernel. */
export const HEAP_LAYOUT = {
  handoff: 0x0,
  /** Kernel command line, up to 0x2000 bytes. */
  cmdline: 0x1000,
  sidecarParams: 0x3000,
  sidecarOutput: 0x4000,
  /** Kernel device tree, up to 256 KiB. */
  dtb: 0x5000,
  dtbMax: 0x40000,
} as const;
const HEAP_SIZE = 0x48000n;
const LARGE_PAGE = 0x20_0000n;

/** Default VTL2 placement (reference stage 0): 128 MiB base, 64 MiB size. */
export const DEFAULT_VTL2_BASE = 0x800_0000n;
export const DEFAULT_VTL2_SIZE = 0x400_0000n;

/** Size of the persisted-state region at the start of VTL2 (paravisor.rs PERSISTED_REGION_SIZE). */
export const PERSISTED_REGION_SIZE = 0x20_0000;
/** Size of the bounce buffer a hardware-isolated image reserves after it (paravisor.rs, X64_LARGE_PAGE_SIZE). */
export const CVM_BOUNCE_BUFFER_SIZE = 0x20_0000;

/**
 * Places the image from the VTL2 base upward in the order of openvmm's paravisor.rs
 * (`load_openhcl_x64`): the 2 MiB persisted-state region, the bounce buffer (SNP/TDX), the kernel
 * (2 MiB aligned), the sidecar (2 MiB aligned), the shim, the initrd, then the command line page,
 * reserved region, parameter region, log buffer and heap. SHIM_VTL2_MEMORY_INVALID when they do not fit.
 */
export function defaultLayout(vtl2Base = DEFAULT_VTL2_BASE, vtl2Size = DEFAULT_VTL2_SIZE, opts: Partial<LayoutOptions> = {}): ShimLayout {
  const hardware = opts.isolation === 'snp' || opts.isolation === 'tdx';
  const o: LayoutOptions = {
    arch: 'x86_64', isolation: 'none', kernelSize: 0x40_0000, kernelEntryOffset: 0, initrdSize: 0x10_0000, initrdCrc: 0,
    bounceBufferSize: hardware ? CVM_BOUNCE_BUFFER_SIZE : 0, reservedSize: 0x2_0000, persistedSize: PERSISTED_REGION_SIZE, ...opts,
    sidecarSize: opts.arch === 'aarch64' ? 0 : (opts.sidecarSize ?? 0x1_0000),
  };
  if (vtl2Base % PAGE !== 0n || vtl2Size % PAGE !== 0n) {
    throw new HclError('SHIM_VTL2_MEMORY_INVALID', `vtl2 layout: base 0x${vtl2Base.toString(16)} size 0x${vtl2Size.toString(16)} not page-aligned`);
  }
  let at = vtl2Base;
  const take = (size: number | bigint, align = PAGE): Region => {
    at = ((at + align - 1n) / align) * align;
    const r = { gpa: at, size: ((BigInt(size) + PAGE - 1n) / PAGE) * PAGE };
    at += r.size;
    return r;
  };
  const persisted = take(o.persistedSize);
  const bounceBuffer = take(o.bounceBufferSize);
  const kernel = take(o.kernelSize, LARGE_PAGE);
  const sidecar = take(o.sidecarSize, o.sidecarSize > 0 ? LARGE_PAGE : PAGE);
  const shim = take(SHIM_IMAGE_SIZE);
  const initrd = take(o.initrdSize);
  const cmdlinePage = take(PAGE);
  const reserved = take(o.reservedSize);
  const paramRegion = take(PARAM_REGION_PAGE_COUNT * 4096);
  const logBuffer = take(0x1_0000);
  const heap = take(HEAP_SIZE);
  const used = { gpa: vtl2Base, size: at - vtl2Base };
  if (at > vtl2Base + vtl2Size) {
    throw new HclError('SHIM_VTL2_MEMORY_INVALID', `vtl2 layout: image needs 0x${used.size.toString(16)} bytes, vtl2 memory has 0x${vtl2Size.toString(16)}`);
  }
  const rel = (gpa: bigint): bigint => gpa - shim.gpa;
  const params: ShimParams = {
    kernelEntryOffset: rel(kernel.gpa) + BigInt(o.kernelEntryOffset), cmdlineOffset: rel(cmdlinePage.gpa),
    initrdOffset: rel(initrd.gpa), initrdSize: BigInt(o.initrdSize), initrdCrc: o.initrdCrc,
    // paravisor.rs: "To the shim, None and VBS isolation are the same" — both are VBS (1); the
    // shim asks the hypervisor at run time which one it is.
    supportedIsolationType: (o.isolation === 'none' ? 1 : ISOLATION_NAMES.indexOf(o.isolation)) as IsolationTypeCode,
    memoryStartOffset: rel(vtl2Base), memorySize: vtl2Size,
    parameterRegionOffset: rel(paramRegion.gpa), parameterRegionSize: paramRegion.size,
    vtl2ReservedRegionOffset: rel(reserved.gpa), vtl2ReservedRegionSize: reserved.size,
    sidecarOffset: rel(sidecar.gpa), sidecarSize: sidecar.size, sidecarEntryOffset: rel(sidecar.gpa),
    usedStart: rel(used.gpa), usedEnd: rel(used.gpa + used.size),
    bounceBufferStart: rel(bounceBuffer.gpa), bounceBufferSize: bounceBuffer.size,
    logBufferStart: rel(logBuffer.gpa), logBufferSize: logBuffer.size,
    heapStartOffset: rel(heap.gpa), heapSize: heap.size,
    persistedStateRegionOffset: rel(persisted.gpa), persistedStateRegionSize: persisted.size,
  };
  return {
    vtl2: { gpa: vtl2Base, size: vtl2Size }, shim, shimParamsGpa: shim.gpa + BigInt(SHIM_PARAMS_OFFSET), cmdlinePage,
    paramRegion, reserved, persisted, logBuffer, heap, bounceBuffer, sidecar, sidecarEntry: sidecar.gpa,
    kernel, kernelEntry: kernel.gpa + BigInt(o.kernelEntryOffset), initrd, used, params,
  };
}
