import { ByteReader, ByteWriter, sha256 } from '../bytes/index.ts';
import { HclError } from '../errors.ts';
import { SHIM_IMAGE_SIZE, SHIM_PARAMS_OFFSET } from '../abi/index.ts';

/**
 * The binaries an OpenHCL package carries, as the model builds them: the shim (openhcl_boot),
 * the VTL2 kernel and the sidecar kernel. Each starts with an 8-byte magic, a format version,
 * the architecture, the entry offset and a version string, so any stage (and `igvm inspect`)
 * can tell what was loaded; the rest is deterministic filler standing in for code.
 */

/** Which image an image header describes. */
export const IMAGE_MAGIC = { shim: 'HCLBOOT\0', kernel: 'HCLKERNL', sidecar: 'HCLSIDEC' } as const;
/** The kind of an image. */
export type ImageKind = keyof typeof IMAGE_MAGIC;
/** Version strings of the model's binaries (the usermode version comes from the package options). */
export const IMAGE_VERSIONS = {
  shim: 'openhcl_boot 1.7.0-hclckpt',
  kernel: 'Linux version 6.6.51.1-hclckpt (hclckpt model kernel) #1 SMP',
  sidecar: 'sidecar 1.7.0-hclckpt',
} as const;

/** Entry offset from each image's start: past the header page, where "code" begins. */
export const IMAGE_ENTRY_OFFSET = 0x1000;
/** Image sizes in bytes; the shim's is fixed by lib/abi/shim-params.ts. */
export const IMAGE_SIZES = { shim: SHIM_IMAGE_SIZE, kernel: 0x4000, sidecar: 0x2000 } as const;

/** What an image header says. */
export interface ImageHeader {
  kind: ImageKind;
  arch: 'x86_64' | 'aarch64';
  entryOffset: number;
  version: string;
}

const FORMAT = 1;
const MAX_VERSION = 0xc0; // keeps the header clear of the shim parameters at 0x100

/** Builds an image: header, zeroes up to the entry, then filler derived from kind and arch. */
export function buildImage(kind: ImageKind, arch: ImageHeader['arch'], version: string = IMAGE_VERSIONS[kind]): Uint8Array {
  const v = new TextEncoder().encode(version);
  if (v.length > MAX_VERSION) throw new TypeError(`${kind} image: version string longer than ${MAX_VERSION} bytes`);
  const out = new Uint8Array(IMAGE_SIZES[kind]);
  out.set(
    new ByteWriter(32 + v.length).bytes(new TextEncoder().encode(IMAGE_MAGIC[kind])).u32(FORMAT)
      .u32(arch === 'x86_64' ? 0 : 1).u32(IMAGE_ENTRY_OFFSET).u32(v.length).bytes(v).finish(),
  );
  out.set(filler(kind, arch), IMAGE_ENTRY_OFFSET);
  return out;
}

// The code stand-in is a pure function of kind and arch: one sha256 per 32 bytes (2048 for the
// 64 KiB shim, built once per platform per package) is worth computing once per process.
const fillers = new Map<string, Uint8Array>();
function filler(kind: ImageKind, arch: ImageHeader['arch']): Uint8Array {
  const key = `${kind}/${arch}`;
  let f = fillers.get(key);
  if (f === undefined) {
    f = new Uint8Array(IMAGE_SIZES[kind] - IMAGE_ENTRY_OFFSET);
    const enc = new TextEncoder();
    for (let at = 0, i = 0; at < f.length; at += 32, i++) f.set(sha256(enc.encode(`${key}/${i}`)), at);
    fillers.set(key, f);
  }
  return f;
}

/** Reads an image header; IGVM_LOAD_INVALID names what is wrong. */
export function readImageHeader(bytes: Uint8Array, what = 'image'): ImageHeader {
  const r = new ByteReader(bytes, what, 'IGVM_LOAD_INVALID');
  const magic = new TextDecoder('latin1').decode(r.bytes(8));
  const kind = (Object.keys(IMAGE_MAGIC) as ImageKind[]).find((k) => IMAGE_MAGIC[k] === magic);
  if (kind === undefined) throw new HclError('IGVM_LOAD_INVALID', `${what}: unknown image magic ${JSON.stringify(magic)}`);
  const format = r.u32();
  if (format !== FORMAT) throw new HclError('IGVM_LOAD_INVALID', `${what}: image format ${format} is not ${FORMAT}`);
  const archCode = r.u32();
  if (archCode > 1) throw new HclError('IGVM_LOAD_INVALID', `${what}: architecture ${archCode} is not 0 or 1`);
  const entryOffset = r.u32();
  const len = r.u32();
  if (len > MAX_VERSION) throw new HclError('IGVM_LOAD_INVALID', `${what}: version length ${len} exceeds ${MAX_VERSION}`);
  const version = new TextDecoder().decode(r.bytes(len));
  return { kind, arch: archCode === 0 ? 'x86_64' : 'aarch64', entryOffset, version };
}

/** The shim image with encoded parameters placed at SHIM_PARAMS_OFFSET. */
export function shimImage(arch: ImageHeader['arch'], params: Uint8Array): Uint8Array {
  const out = buildImage('shim', arch);
  out.set(params, SHIM_PARAMS_OFFSET);
  return out;
}
