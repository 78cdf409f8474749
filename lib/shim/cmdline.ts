import { HclError } from '../errors.ts';
import type { Plant } from '../plant.ts';
import type { IsolationName, ParavisorCommandLine } from '../abi/index.ts';
import { SHIM_LIMITS, type ComInfo } from './hostdt.ts';

/** Options the shim reads from the command line (openhcl_boot cmdline.rs `BootCommandLineOptions`). */
export interface ShimOptions {
  confidentialDebug: boolean;
  sidecar: 'on' | 'off' | 'log';
  disableNvmeKeepAlive: boolean;
  /** OPENHCL_IGVM_VTL2_GPA_POOL_CONFIG: release, debug, off or a page count (read, not acted on). */
  gpaPoolConfig?: string;
  /** OPENHCL_VTL2_GPA_POOL_NUMA (read, not acted on). */
  gpaPoolNuma?: string;
}

/**
 * Parses shim options the way `BootCommandLineOptions::parse` does: words are matched by prefix;
 * CONFIDENTIAL_DEBUG and DISABLE_NVME_KEEP_ALIVE turn on for any value but "0" and never back
 * off; OPENHCL_SIDECAR takes a comma list of off/on/log, unknown words change nothing.
 */
export function parseShimOptions(line: string): ShimOptions {
  const out: ShimOptions = { confidentialDebug: false, sidecar: 'on', disableNvmeKeepAlive: false };
  for (const arg of line.split(/\s+/)) {
    const eq = arg.indexOf('=');
    const value = eq < 0 ? undefined : arg.slice(eq + 1);
    if (arg.startsWith('OPENHCL_CONFIDENTIAL_DEBUG')) {
      if (value !== undefined && value !== '0') out.confidentialDebug = true;
    } else if (arg.startsWith('OPENHCL_IGVM_VTL2_GPA_POOL_CONFIG=')) {
      out.gpaPoolConfig = value!;
    } else if (arg.startsWith('OPENHCL_SIDECAR=')) {
      for (const w of value!.split(',')) if (w === 'on' || w === 'off' || w === 'log') out.sidecar = w;
    } else if (arg.startsWith('OPENHCL_DISABLE_NVME_KEEP_ALIVE=')) {
      if (value !== '0') out.disableNvmeKeepAlive = true;
    } else if (arg.startsWith('OPENHCL_VTL2_GPA_POOL_NUMA=')) {
      out.gpaPoolNuma = value!;
    }
  }
  return out;
}

/** Whether the host's bootargs may be used: not isolated, or confidential debug in the static line. */
export function hostIsTrusted(isolation: IsolationName, staticLine: string): boolean {
  return isolation === 'none' || parseShimOptions(staticLine).confidentialDebug;
}

/**
 * The user part (host_params/dt `read_from_dt`): the static line, then with APPEND_CHOSEN and a
 * trusted host a space and the host bootargs, the space written even when bootargs are empty.
 * `plant`: tests only.
 */
export function userCommandLine(page: ParavisorCommandLine, bootargs: string, trusted: boolean, plant?: Plant): string {
  if (plant === 'shim-drops-host-cmdline') return page.line;
  return page.policy === 'append-chosen' && trusted ? `${page.line} ${bootargs}` : page.line;
}

// Always generated, in this order (openhcl_boot main.rs build_kernel_command_line KERNEL_PARAMETERS).
const KERNEL_PARAMETERS = [
  'loglevel=8', 'log_buf_len=128K', 'printk.time=1', 'console_msg_format=syslog', 'uio_hv_generic.no_mask=1',
  'coredump_filter=0x33', 'cpufreq.off=1', 'cpuidle.off=1', 'cryptomgr.notests', 'idle=halt',
  'initcall_blacklist=init_real_mode,sbf_init', 'lpj=3000000', 'no_timer_check', 'noxsave', 'oops=panic',
  'panic_on_warn=0', 'panic_print=0', 'panic=-1', 'printk.devkmsg=on', 'reboot=t', 'rootfstype=tmpfs',
  'sysctl.vm.compaction_proactiveness=0', 'tsc=reliable', 'unknown_nmi_panic=1', 'vfio_pci.ids=1414:00ba',
  'vfio.enable_unsafe_noiommu_mode=1', 'rdinit=/underhill-init', 'OPENHCL_NVME_VFIO=1',
  'hv_storvsc.storvsc_vcpus_per_sub_channel=2048', 'hv_storvsc.storvsc_max_hw_queues=2',
  'hv_storvsc.storvsc_ringbuffer_size=0x8000', 'MIMALLOC_ARENA_EAGER_COMMIT=0', 'acpi=off',
] as const;
const X86_PARAMETERS = ['clearcpuid=pcid', 'iommu=off', 'pci=off'] as const;

/** Inputs of the kernel command line. */
export interface CmdlineInputs {
  arch: 'x86_64' | 'aarch64';
  isolation: IsolationName;
  trusted: boolean;
  /** The host DT's COM3 (16550 on x86, SBSA UART on arm64), if any. */
  com3: ComInfo | undefined;
  /** Confidential debug from the static line, or from the host line when that was parsed. */
  confidentialDebug: boolean;
  /** The parts of OPENHCL_NVME_KEEP_ALIVE: opt-out on the command line, host support, VTL2 pool. */
  keepAlive: { disabled: boolean; host: boolean; privatePool: boolean };
  /** CPUs that boot Linux when sidecar is active; undefined = sidecar not active. */
  bootCpus: number[] | undefined;
  vmbusConnectionId: number;
  user: string;
}

/**
 * Builds the kernel command line as build_kernel_command_line writes it: every generated
 * parameter followed by one space, then the user part as is, so later user values win.
 * SHIM_CMDLINE_TOO_LONG beyond 0x2000 bytes.
 */
export function buildKernelCommandLine(i: CmdlineInputs): string {
  const parts: string[] = [...KERNEL_PARAMETERS];
  if (i.arch === 'x86_64') parts.push(...X86_PARAMETERS);
  parts.push(i.isolation === 'snp' || i.isolation === 'tdx' ? 'swiotlb=4096,1' : 'swiotlb=1,1');
  const com3 = i.trusted ? i.com3 : undefined;
  parts.push(`console=${com3 === undefined ? 'ttynull' : `${com3.kind === 'ns16550' ? 'ttyS2' : 'ttyAMA0'},${com3.speed}`}`);
  if (i.isolation !== 'none') parts.push('OPENHCL_CONFIDENTIAL=1');
  if (i.confidentialDebug) parts.push('OPENHCL_CONFIDENTIAL_DEBUG=1');
  const k = i.keepAlive;
  parts.push(`OPENHCL_NVME_KEEP_ALIVE=${k.disabled ? 'disabled,' : ''}${k.host ? 'host' : 'nohost'},${k.privatePool ? 'privatepool' : 'noprivatepool'}`);
  if (i.bootCpus !== undefined) parts.push(`boot_cpus=${i.bootCpus.join(',')}`);
  // The real shim looks for an earlier hv_vmbus.message_connection_id before the user part is
  // appended, so among the generated words only: it is always written.
  parts.push(`hv_vmbus.message_connection_id=0x${i.vmbusConnectionId.toString(16)}`);
  const line = `${parts.map((p) => `${p} `).join('')}${i.user}`;
  const bytes = new TextEncoder().encode(line).length;
  if (bytes > SHIM_LIMITS.cmdline) {
    throw new HclError('SHIM_CMDLINE_TOO_LONG', `kernel command line: ${bytes} bytes exceed ${SHIM_LIMITS.cmdline}`);
  }
  return line;
}

/** The generated parameter list for `arch` (exported for tests and docs). */
export function generatedParameters(arch: 'x86_64' | 'aarch64'): readonly string[] {
  return arch === 'x86_64' ? [...KERNEL_PARAMETERS, ...X86_PARAMETERS] : KERNEL_PARAMETERS;
}
