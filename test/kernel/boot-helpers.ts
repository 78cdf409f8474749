// Test helper: place a DTB, command line and initrd in guest memory behind a handoff record, boot.
import { GuestMemory } from '../../lib/memory/index.ts';
import { writeHandoff } from '../../lib/abi/handoff.ts';
import { bootKernel, type Kernel } from '../../lib/kernel/index.ts';

/** The GPA of the handoff record the helper writes. */
export const HANDOFF_GPA = 0x1000n;

/** Boots the kernel stage on the given parts (initrd optional) through real guest memory. */
export function bootFromParts(parts: { dtb: Uint8Array; cmdline: string; initrd?: Uint8Array; arch?: 'x86_64' | 'aarch64' }): Kernel {
  const memory = new GuestMemory();
  const cmd = new TextEncoder().encode(parts.cmdline);
  const initrd = parts.initrd ?? new Uint8Array(0);
  memory.write(0x10_0000n, parts.dtb);
  memory.write(0x20_0000n, cmd);
  memory.write(0x30_0000n, initrd);
  writeHandoff(memory, HANDOFF_GPA, {
    dtbGpa: 0x10_0000n, dtbSize: parts.dtb.length,
    cmdlineGpa: 0x20_0000n, cmdlineSize: cmd.length,
    initrdGpa: 0x30_0000n, initrdSize: initrd.length,
    sidecarParamsGpa: 0n,
  });
  return bootKernel(memory, HANDOFF_GPA, parts.arch === undefined ? {} : { arch: parts.arch });
}
