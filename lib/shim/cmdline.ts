import { HclError } from '../errors.ts';
import type { Plant } from '../plant.ts';
import type { IsolationName, ParavisorCommandLine } from '../abi/index.ts';
import { SHIM_LIMITS } from './hostdt.ts';

/** Options the shim reads from the command line (openhcl_boot cmdline.rs). */
export interface ShimOptions {
  confidentialDebug: boolean;
  sidecar: 'on' | 'off' | 'log';
  disableNvmeKeepAlive: boolean;
  /** OPENHCL_IGVM_VTL2_GPA_POOL_CONFIG: release, debug, off or a page count (read, not acted on). */
  gpaPoolConfig?: string;
  /** OPENHCL_VTL2_GPA_POOL_NUMA (read, not acted on). */
  gpaPoolNuma?: string;
}

/** The last value of `KEY=` in a whitespace-separated line (a bare `KEY` gives ""). */
export function cmdlineValue(line: string, key: string): string | undefined {
  let found: string | undefined;
  for (const tok of line.split(/\s+/)) {
    if (tok === key) found = '';
    else if (tok.startsWith(`${key}=`)) found = tok.slice(key.length + 1);
  }
  return found;
}

const truthy = (v: string | undefined): boolean => v !== undefined && v !== '0' && v.toLowerCase() !== 'false' && v.toLowerCase() !== 'off';

/** Parses shim options from a command line; later values win, unknown sidecar values mean "on". */
export function parseShimOptions(line: string): ShimOptions {
  const sc = cmdlineValue(line, 'OPENHCL_SIDECAR');
  const out: ShimOptions = {
    confidentialDebug: truthy(cmdlineValue(line, 'OPENHCL_CONFIDENTIAL_DEBUG')),
    sidecar: sc === 'off' || sc === 'log' ? sc : 'on',
    disableNvmeKeepAlive: truthy(cmdlineValue(line, 'OPENHCL_DISABLE_NVME_KEEP_ALIVE')),
  };
  const pool = cmdlineValue(line, 'OPENHCL_IGVM_VTL2_GPA_POOL_CONFIG');
  const numa = cmdlineValue(line, 'OPENHCL_VTL2_GPA_POOL_NUMA');
  if (pool !== undefined) out.gpaPoolConfig = pool;
  if (numa !== undefined) out.gpaPoolNuma = numa;
  return out;
}

/** Whether the host's bootargs may be used: not isolated, or confidential debug in the static line. */
export function hostIsTrusted(isolation: IsolationName, staticLine: string): boolean {
  return isolation === 'none' || parseShimOptions(staticLine).confidentialDebug;
}

/** The user part: static line, then (APPEND_CHOSEN and trusted host) a space and the host bootargs. `plant`: tests only. */
export function userCommandLine(page: ParavisorCommandLine, bootargs: string, trusted: boolean, plant?: Plant): string {
  if (plant === 'shim-drops-host-cmdline') return page.line;
  if (page.policy === 'append-chosen' && trusted && bootargs !== '') return page.line === '' ? bootargs : `${page.line} ${bootargs}`;
  return page.line;
}

// Always generated, in this order (openhcl_boot main.rs build_kernel_command_line).
const KERNEL_PARAMETERS = [
  'loglevel=8', 'log_buf_len=128K', 'printk.time=1', 'console_msg_format=syslog',
  'uio_hv_generic.send_buf_size=0', 'uio_hv_generic.recv_buf_size=0', 'uio_hv_generic.ring_size=0x11000',
  'uio_hv_generic.no_mask=1', 'coredump_filter=0x33', 'cpufreq.off=1', 'cpuidle.off=1', 'cryptomgr.notests',
  'idle=halt', 'initcall_blacklist=init_real_mode,sbf_init', 'lpj=3000000', 'no_timer_check', 'noxsave',
  'oops=panic', 'panic_on_warn=0', 'panic_print=0', 'panic=-1', 'printk.devkmsg=on', 'reboot=t',
  'rootfstype=tmpfs', 'sysctl.vm.compaction_proactiveness=0', 'tsc=reliable', 'unknown_nmi_panic=1',
  'vfio_pci.ids=1414:00ba', 'vfio.enable_unsafe_noiommu_mode=1', 'rdinit=/underhill-init', 'OPENHCL_NVME_VFIO=1',
  'hv_storvsc.storvsc_vcpus_per_sub_channel=2048', 'hv_storvsc.storvsc_max_hw_queues=2',
  'hv_storvsc.storvsc_ringbuffer_size=0x8000', 'MIMALLOC_ARENA_EAGER_COMMIT=0',
] as const;
const X86_PARAMETERS = ['clearcpuid=pcid', 'iommu=off', 'pci=off'] as const;

/** Inputs of the kernel command line. */
export interface CmdlineInputs {
  arch: 'x86_64' | 'aarch64';
  isolation: IsolationName;
  trusted: boolean;
  /** Console device when COM3 (x86) or the PL011 (arm64) exists: "ttyS2,115200" / "ttyAMA0". */
  console: string | undefined;
  nvmeKeepAlive: boolean;
  /** CPUs that boot Linux when sidecar is active; undefined = sidecar not active. */
  bootCpus: number[] | undefined;
  vmbusConnectionId: number;
  user: string;
}

/**
 * Builds the kernel command line: generated parameters first so later user values win, then the
 * user part. SHIM_CMDLINE_TOO_LONG beyond 0x2000 bytes.
 */
export function buildKernelCommandLine(i: CmdlineInputs): string {
  const parts: string[] = [...KERNEL_PARAMETERS];
  if (i.arch === 'x86_64') parts.push(...X86_PARAMETERS);
  parts.push(i.isolation === 'snp' || i.isolation === 'tdx' ? 'swiotlb=4096,1' : 'swiotlb=1,1');
  parts.push(`console=${i.console !== undefined && i.trusted ? i.console : 'ttynull'}`);
  if (i.isolation !== 'none') parts.push('OPENHCL_CONFIDENTIAL=1');
  if (i.nvmeKeepAlive) parts.push('OPENHCL_NVME_KEEP_ALIVE=1');
  if (i.bootCpus !== undefined) parts.push(`boot_cpus=${i.bootCpus.join(',')}`);
  if (!i.user.includes('hv_vmbus.message_connection_id=')) parts.push(`hv_vmbus.message_connection_id=0x${i.vmbusConnectionId.toString(16)}`);
  const line = i.user === '' ? parts.join(' ') : `${parts.join(' ')} ${i.user}`;
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
