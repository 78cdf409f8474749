import { HclError } from '../errors.ts';

/**
 * A read-only view of the kernel's /proc and /sys, as openvmm_hcl sees them. Paths are absolute
 * ("/proc/cmdline", "/sys/firmware/fdt", "/proc/device-tree/cpus/cpu@1/reg"); files hold the
 * exact bytes Linux would show; directories are listed by name, sorted.
 */
export interface ProcFs {
  /** The bytes of a file; PROCFS_NOT_FOUND when there is no such file. */
  read(path: string): Uint8Array;
  /** Names in a directory, sorted; PROCFS_NOT_FOUND when there is no such directory. */
  list(path: string): string[];
  /** True when a file or directory exists at `path`. */
  exists(path: string): boolean;
}

/** A file read as UTF-8 text. */
export function readText(fs: ProcFs, path: string): string {
  return new TextDecoder().decode(fs.read(path));
}

/** The error for a missing path, shared by every ProcFs implementation. */
export function procfsNotFound(path: string): HclError {
  return new HclError('PROCFS_NOT_FOUND', `procfs: ${path}: no such file or directory`);
}
