import { ByteReader, ByteWriter } from '../bytes/index.ts';
import { HclError } from '../errors.ts';
import type { GuestMemory } from '../memory/index.ts';

/**
 * What the shim hands the kernel, written into guest memory at one GPA. On x86 OpenHCL passes
 * these through boot_params (SETUP_DTB, cmd_line_ptr, ramdisk_image); on arm64 through x0 and
 * /chosen. The model uses one small fixed record for both: magic "HCLHANDF", then u64 fields.
 */
export interface KernelHandoff {
  /** GPA and size of the kernel device tree blob. */
  dtbGpa: bigint;
  dtbSize: number;
  /** GPA and size of the NUL-free kernel command line. */
  cmdlineGpa: bigint;
  cmdlineSize: number;
  /** GPA and size of the initrd (a cpio newc archive). */
  initrdGpa: bigint;
  initrdSize: number;
  /** GPA of SidecarParams, or 0 when sidecar is not running. */
  sidecarParamsGpa: bigint;
}

const MAGIC = new DataView(new TextEncoder().encode("HCLHANDF").buffer).getBigUint64(0, true);
/** Bytes of the encoded record. */
export const HANDOFF_SIZE = 8 * 8;

/** Writes the handoff record at `gpa`. */
export function writeHandoff(memory: GuestMemory, gpa: bigint, h: KernelHandoff): void {
  const w = new ByteWriter(HANDOFF_SIZE)
    .u64(MAGIC)
    .u64(h.dtbGpa).u64(h.dtbSize)
    .u64(h.cmdlineGpa).u64(h.cmdlineSize)
    .u64(h.initrdGpa).u64(h.initrdSize)
    .u64(h.sidecarParamsGpa);
  memory.write(gpa, w.finish());
}

/** Reads the handoff record at `gpa`; KERNEL_HANDOFF_INVALID when the magic is wrong. */
export function readHandoff(memory: GuestMemory, gpa: bigint): KernelHandoff {
  const r = new ByteReader(memory.read(gpa, HANDOFF_SIZE), 'kernel handoff', 'KERNEL_HANDOFF_INVALID');
  if (r.u64() !== MAGIC) {
    throw new HclError('KERNEL_HANDOFF_INVALID', `kernel handoff at 0x${gpa.toString(16)}: bad magic`);
  }
  const size = (): number => {
    const v = r.u64();
    if (v > 0x1000_0000n) throw new HclError('KERNEL_HANDOFF_INVALID', `kernel handoff at 0x${gpa.toString(16)}: size ${v} is too large`);
    return Number(v);
  };
  return {
    dtbGpa: r.u64(), dtbSize: size(),
    cmdlineGpa: r.u64(), cmdlineSize: size(),
    initrdGpa: r.u64(), initrdSize: size(),
    sidecarParamsGpa: r.u64(),
  };
}
