import { createHash } from 'node:crypto';
import { HclError, isHclError } from '../errors.ts';
import {
  PageDataFlags, PlatformType, ParameterAreas, decodeVsmContext, encodeVsmContext, headersFor, platformName, readIgvm, selectPlatform,
  type IgvmFile, type IgvmHeader, type RelocatableRegion,
} from '../igvm/index.ts';
import { GuestMemory } from '../memory/index.ts';
import type { IsolationName } from '../abi/index.ts';
import { IMAGE_MAGIC } from './images.ts';
import { platformFor } from './package.ts';

/** What the host hands the loader: the isolation to load for and the host-filled parameters. */
export interface HostLoadParams {
  isolation: IsolationName;
  /** Host device tree (DTB) for the DEVICE_TREE parameter. */
  hostDtb: Uint8Array;
  /** ACPI SLIT for the SLIT parameter; absent leaves the area zero. */
  slit?: Uint8Array;
  /** ACPI PPTT for the PPTT parameter; absent leaves the area zero. */
  pptt?: Uint8Array;
  /** Where the host puts VTL2 RAM; the image is relocated there when its platform allows. */
  vtl2: { base: number; size: number };
}

/** The loaded image. */
export interface LoadedIgvm {
  memory: GuestMemory;
  /** GPA of the shim image (its parameters are at shimBase + SHIM_PARAMS_OFFSET). */
  shimBase: bigint;
  /** sha256 hex over the measured pages in header order: u64 LE file GPA, then the 4 KiB page. */
  measurement: string;
  /** The platform type loaded (PlatformType). */
  platform: number;
  /** The VP context of VP 0 as the platform encodes it, relocated; undefined for TDX. */
  vpContext: Uint8Array | undefined;
  /** One line per step, for `--show` and debugging. */
  log: string[];
}

const PAGE = 4096n;
const hex = (n: bigint | number): string => `0x${n.toString(16)}`;
const fail = (why: string): never => {
  throw new HclError('IGVM_LOAD_INVALID', `igvm loader: ${why}`);
};

function page(data: Uint8Array): Uint8Array {
  if (data.length === Number(PAGE)) return data;
  const out = new Uint8Array(Number(PAGE));
  out.set(data);
  return out;
}

/** The relocation delta the host's VTL2 base asks for, checked against the image's region. */
function relocation(hs: IgvmHeader[], host: HostLoadParams, platform: number, log: string[]): { region?: RelocatableRegion; delta: bigint } {
  const base = BigInt(host.vtl2.base);
  if (base % PAGE !== 0n || BigInt(host.vtl2.size) % PAGE !== 0n) fail(`host vtl2 range ${hex(base)}+${hex(host.vtl2.size)} is not page-aligned`);
  const required = hs.find((h) => h.kind === 'REQUIRED_MEMORY');
  const region = hs.find((h): h is RelocatableRegion => h.kind === 'RELOCATABLE_REGION');
  const imageBase = region?.relocationRegionGpa ?? (required?.kind === 'REQUIRED_MEMORY' ? required.gpa : base);
  if (required?.kind === 'REQUIRED_MEMORY' && BigInt(host.vtl2.size) < BigInt(required.numberOfBytes)) {
    fail(`host vtl2 size ${hex(host.vtl2.size)} is below the image's required ${hex(required.numberOfBytes)}`);
  }
  const delta = base - imageBase;
  if (delta === 0n) return region === undefined ? { delta } : { region, delta };
  if (region === undefined) fail(`${platformName(platform)} image is built at ${hex(imageBase)} and cannot move to host vtl2 base ${hex(base)}`);
  const r = region!;
  if (base % r.relocationAlignment !== 0n) fail(`host vtl2 base ${hex(base)} is not aligned to the image's ${hex(r.relocationAlignment)}`);
  if (base < r.minimumRelocationGpa || base + r.relocationRegionSize > r.maximumRelocationGpa) {
    fail(`host vtl2 base ${hex(base)} is outside the image's relocation window ${hex(r.minimumRelocationGpa)}..${hex(r.maximumRelocationGpa)}`);
  }
  log.push(`relocate ${hex(imageBase)}+${hex(r.relocationRegionSize)} to ${hex(base)}`);
  return { region: r, delta };
}

/** Moves the program counter of a VP context by `delta` (APPLY_PC). */
function relocatePc(platform: number, data: Uint8Array, delta: bigint): Uint8Array {
  const out = data.slice();
  if (platform === PlatformType.VSM_ISOLATION) {
    const regs = decodeVsmContext(out).map((r, i) => {
      // The first record is the program counter (RIP / PC) in the package's register order.
      if (i !== 0) return r;
      const value = r.value.slice();
      const dv = new DataView(value.buffer);
      dv.setBigUint64(0, dv.getBigUint64(0, true) + delta, true);
      return { ...r, value };
    });
    return encodeVsmContext(regs);
  }
  return out;
}

/** The architecture a file's fixed header names (v2 AArch64), read before the file is parsed for it. */
function archOf(igvm: Uint8Array): 'x86_64' | 'aarch64' {
  const v = new DataView(igvm.buffer, igvm.byteOffset, igvm.byteLength);
  return igvm.length >= 28 && v.getUint32(4, true) === 2 && v.getUint32(24, true) === 1 ? 'aarch64' : 'x86_64';
}

/**
 * Loads an IGVM file for one isolation the way OpenVMM loads OpenHCL: reads it with the
 * platform's isolation filter (openvmm_core vm_loaders/igvm.rs `read_igvm_file`), picks the
 * platform (IGVM_NO_PLATFORM_FOR_ISOLATION), relocates relocatable images to the host's VTL2
 * base, places page data, fills the SLIT/PPTT/DEVICE_TREE areas and inserts them unmeasured.
 */
export function loadIgvm(igvm: Uint8Array, host: HostLoadParams): LoadedIgvm {
  const arch = archOf(igvm);
  let platform: number;
  let mask: number;
  let file: IgvmFile;
  try {
    platform = platformFor(arch, host.isolation);
    file = readIgvm(igvm, { isolationFilter: platform });
    mask = selectPlatform(file, platform);
  } catch (e) {
    if (isHclError(e, 'IGVM_NO_PLATFORM_FOR_ISOLATION')) {
      throw new HclError(e.code, `igvm loader: no platform for ${host.isolation} isolation: ${e.message}`, { cause: e });
    }
    throw e;
  }
  const log = [`platform ${platformName(platform)} (mask ${hex(mask)}) for ${host.isolation} isolation`];
  const hs = headersFor(file, mask);
  const { region, delta } = relocation(hs, host, platform, log);
  const inRegion = (gpa: bigint): boolean => region !== undefined && gpa >= region.relocationRegionGpa && gpa < region.relocationRegionGpa + region.relocationRegionSize;
  const place = (gpa: bigint): bigint => (inRegion(gpa) ? gpa + delta : gpa);

  const memory = new GuestMemory();
  const measured = createHash('sha256');
  const areas = new ParameterAreas();
  const hostValue: Partial<Record<string, Uint8Array>> = { SLIT: host.slit, PPTT: host.pptt, DEVICE_TREE: host.hostDtb };
  const shimMagic = new TextEncoder().encode(IMAGE_MAGIC.shim);
  let shimBase: bigint | undefined;
  let vpContext: Uint8Array | undefined;
  let measuredPages = 0;
  for (const h of hs) {
    switch (h.kind) {
      case 'PAGE_DATA': {
        const data = page(h.data);
        memory.write(place(h.gpa), data);
        if ((h.flags & PageDataFlags.UNMEASURED) === 0) {
          const gpa = new Uint8Array(8);
          new DataView(gpa.buffer).setBigUint64(0, h.gpa, true);
          measured.update(gpa).update(data);
          measuredPages++;
        }
        if (shimBase === undefined && shimMagic.every((b, i) => data[i] === b)) shimBase = place(h.gpa);
        break;
      }
      case 'PARAMETER_AREA':
        areas.declare(h.parameterAreaIndex, Number(h.numberOfBytes), h.initialData);
        break;
      case 'PARAMETER_INSERT': {
        const bytes = areas.insert(h.parameterAreaIndex);
        memory.write(place(h.gpa), bytes);
        log.push(`insert parameter area ${h.parameterAreaIndex} (${bytes.length} bytes) at ${hex(place(h.gpa))}`);
        break;
      }
      case 'VP_CONTEXT':
        vpContext = region !== undefined && (region.flags & 2) !== 0 && delta !== 0n ? relocatePc(platform, h.data, delta) : h.data;
        break;
      case 'SLIT': case 'PPTT': case 'DEVICE_TREE': {
        const value = hostValue[h.kind];
        if (value === undefined) log.push(`${h.kind.toLowerCase()}: not given, area ${h.parameterAreaIndex} stays zero`);
        else {
          try {
            areas.write(h.parameterAreaIndex, h.byteOffset, value);
          } catch (e) {
            if (!isHclError(e)) throw e;
            throw new HclError(e.code, `igvm loader: ${h.kind.toLowerCase()} parameter: ${e.message}`, { cause: e, ...(e.context === undefined ? {} : { context: { ...e.context } }) });
          }
        }
        break;
      }
      case 'VP_COUNT_PARAMETER': case 'SRAT': case 'MADT': case 'MMIO_RANGES': case 'MEMORY_MAP': case 'COMMAND_LINE': case 'ENVIRONMENT_INFO_PARAMETER':
        // OpenVMM passes these to OpenHCL inside the host device tree instead.
        log.push(`${h.kind.toLowerCase()}: not filled for OpenHCL (it reads the host device tree)`);
        break;
      default:
        break;
    }
  }
  if (shimBase === undefined) fail(`no shim image (magic ${JSON.stringify(IMAGE_MAGIC.shim.replace('\0', ''))}) in the pages of the ${platformName(platform)} platform`);
  log.push(`${measuredPages} measured pages, shim at ${hex(shimBase!)}`);
  return { memory, shimBase: shimBase!, measurement: measured.digest('hex'), platform, vpContext, log };
}
