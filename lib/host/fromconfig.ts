import type { VmConfig } from '../config/index.ts';
import { hostPptt, hostSlit } from './acpi.ts';
import { hostDtb } from './devicetree.ts';
import type { HostLoadParams } from './loader.ts';
import { packageKindFor, type PackageOptions } from './package.ts';

/** Default usermode version a package built from a config carries. */
export const DEFAULT_USERMODE_VERSION = '1.7.0';

/**
 * Package options for a config: its arch, static command line and policy, and the package its
 * isolation boots (`packageKindFor`); the CVM image is built at the config's VTL2 range, since
 * it cannot be relocated. AArch64 has only the release package (VBS loads on its VSM platform).
 */
export function packageOptionsFor(c: VmConfig, usermodeVersion = DEFAULT_USERMODE_VERSION): PackageOptions {
  const opts: PackageOptions = { arch: c.arch, usermodeVersion, staticCmdline: c.cmdline.static, policy: c.cmdline.policy };
  if (c.arch === 'x86_64' && packageKindFor(c.isolation) === 'cvm') {
    opts.kind = 'cvm';
    opts.vtl2 = { base: c.vtl2.base, size: c.vtl2.size };
  }
  return opts;
}

/** The host's load parameters for a config: isolation, host DTB, SLIT, PPTT and VTL2 range. */
export function hostParamsFor(c: VmConfig): HostLoadParams {
  return { isolation: c.isolation, hostDtb: hostDtb(c), slit: hostSlit(c), pptt: hostPptt(c), vtl2: { base: c.vtl2.base, size: c.vtl2.size } };
}
