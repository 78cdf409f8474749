import { HclError } from '../errors.ts';

/**
 * openvmm_hcl's options, read from init's environment the way underhill_core reads them: each
 * option has an `OPENHCL_*` name and a legacy `UNDERHILL_*` alias (the new name wins), a typed
 * value and a documented default. A value that does not parse is an error naming the variable.
 */

/** Fault hooks for servicing tests (`OPENHCL_TEST_CONFIG`). */
export type HclTestConfig = 'SERVICING_SAVE_STUCK' | 'SERVICING_SAVE_FAIL' | 'SERVICING_RESTORE_STUCK';

/** Sidecar mode as the shim and usermode see it. */
export type SidecarMode = 'on' | 'off' | 'log';

/** VTL2 GPA pool sizing: a named preset or an explicit page count. */
export type GpaPoolConfig = 'release' | 'debug' | 'off' | { pages: number };

/** Every option openvmm_hcl reads, with its parsed value. */
export interface HclOptions {
  /** OPENHCL_NVME_KEEP_ALIVE: keep NVMe devices alive across servicing (default false). */
  nvmeKeepAlive: boolean;
  /** OPENHCL_DISABLE_NVME_KEEP_ALIVE: refuse keep-alive even if offered (default false). */
  disableNvmeKeepAlive: boolean;
  /** OPENHCL_NVME_VFIO: drive NVMe through VFIO in VTL2 (default false). */
  nvmeVfio: boolean;
  /** OPENHCL_SIDECAR: off, on or log (default on). */
  sidecar: SidecarMode;
  /** OPENHCL_CONFIDENTIAL: the VM is hardware-isolated (default false). */
  confidential: boolean;
  /** OPENHCL_CONFIDENTIAL_DEBUG: trust the host for debugging an isolated VM (default false). */
  confidentialDebug: boolean;
  /** OPENHCL_TEST_CONFIG: a servicing fault hook, if any. */
  testConfig: HclTestConfig | undefined;
  /** OPENHCL_IGVM_VTL2_GPA_POOL_CONFIG: release, debug, off or a page count (default release). */
  gpaPoolConfig: GpaPoolConfig;
  /** OPENHCL_ENABLE_VTL2_GPA_POOL: explicit pool size in pages, if any. */
  enableVtl2GpaPool: number | undefined;
  /** OPENHCL_VTL2_GPA_POOL_NUMA: allocate the GPA pool per NUMA node (default false). */
  gpaPoolNuma: boolean;
  /** OPENHCL_WAIT_FOR_START: wait for the host's start request (default false). */
  waitForStart: boolean;
  /** OPENHCL_REFORMAT_VMGS: reformat the VMGS file on boot (default false). */
  reformatVmgs: boolean;
  /** OPENHCL_HIDE_ISOLATION: hide isolation from the guest (default false). */
  hideIsolation: boolean;
}

type Parser<T> = (value: string, name: string) => T;

function invalid(name: string, value: string, want: string): HclError {
  return new HclError('HCL_DISCOVERY_INVALID', `options: ${name}=${JSON.stringify(value)}: expected ${want}`, {
    context: { variable: name, value },
  });
}

const bool: Parser<boolean> = (v, name) => {
  const s = v.trim().toLowerCase();
  if (s === '1' || s === 'true') return true;
  if (s === '0' || s === 'false') return false;
  throw invalid(name, v, '1, 0, true or false');
};

const pages: Parser<number> = (v, name) => {
  const s = v.trim();
  const n = /^0x[0-9a-f]+$/i.test(s) ? Number.parseInt(s.slice(2), 16) : /^[0-9]+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n)) throw invalid(name, v, 'a page count (decimal or 0x hex)');
  return n;
};

function oneOf<const T extends string>(...values: T[]): Parser<T> {
  return (v, name) => {
    const s = v.trim();
    const hit = values.find((x) => x.toLowerCase() === s.toLowerCase());
    if (hit === undefined) throw invalid(name, v, `one of ${values.join(', ')}`);
    return hit;
  };
}

// underhill_core options.rs `KeepAliveConfig::from_str` and `is_enabled`: only `host,privatepool`
// or `enabled` (any case) turn keep-alive on; `[no]host,[no]privatepool` and `disabled[,…]` are
// off, and a value it cannot parse is off too (Options::parse warns and falls back to Disabled).
const keepAlive: Parser<boolean> = (v) => {
  const s = v.toLowerCase();
  return s === 'host,privatepool' || s === 'enabled';
};

const gpaPool: Parser<GpaPoolConfig> = (v, name) => {
  const s = v.trim().toLowerCase();
  if (s === 'release' || s === 'debug' || s === 'off') return s;
  try {
    return { pages: pages(v, name) };
  } catch {
    throw invalid(name, v, 'release, debug, off or a page count');
  }
};

/** Reads one option: `OPENHCL_<suffix>`, else `UNDERHILL_<suffix>`, else the default. */
function read<T, D extends T | undefined>(env: Record<string, string>, suffix: string, parse: Parser<T>, dflt: D): T | D {
  for (const name of [`OPENHCL_${suffix}`, `UNDERHILL_${suffix}`]) {
    const v = env[name];
    if (v !== undefined) return parse(v, name);
  }
  return dflt;
}

/** Parses every option from `env`; HCL_DISCOVERY_INVALID naming the variable on a bad value. */
export function parseHclOptions(env: Record<string, string>): HclOptions {
  return {
    nvmeKeepAlive: read(env, 'NVME_KEEP_ALIVE', keepAlive, false),
    disableNvmeKeepAlive: read(env, 'DISABLE_NVME_KEEP_ALIVE', bool, false),
    nvmeVfio: read(env, 'NVME_VFIO', bool, false),
    sidecar: read(env, 'SIDECAR', oneOf('on', 'off', 'log'), 'on'),
    confidential: read(env, 'CONFIDENTIAL', bool, false),
    confidentialDebug: read(env, 'CONFIDENTIAL_DEBUG', bool, false),
    testConfig: read(env, 'TEST_CONFIG', oneOf('SERVICING_SAVE_STUCK', 'SERVICING_SAVE_FAIL', 'SERVICING_RESTORE_STUCK'), undefined),
    gpaPoolConfig: read(env, 'IGVM_VTL2_GPA_POOL_CONFIG', gpaPool, 'release'),
    enableVtl2GpaPool: read(env, 'ENABLE_VTL2_GPA_POOL', pages, undefined),
    gpaPoolNuma: read(env, 'VTL2_GPA_POOL_NUMA', bool, false),
    waitForStart: read(env, 'WAIT_FOR_START', bool, false),
    reformatVmgs: read(env, 'REFORMAT_VMGS', bool, false),
    hideIsolation: read(env, 'HIDE_ISOLATION', bool, false),
  };
}

/**
 * Splits a kernel command line into words the way Linux's `next_arg` does: whitespace separates
 * words except inside double quotes; a quote opening the word or the value, and its closing
 * quote at the end of the word, are removed; inner quotes stay.
 */
export function splitCmdline(cmdline: string): Array<{ key: string; value: string | undefined }> {
  const out: Array<{ key: string; value: string | undefined }> = [];
  let i = 0;
  while (i < cmdline.length) {
    while (i < cmdline.length && /\s/.test(cmdline[i] ?? '')) i++;
    if (i >= cmdline.length) break;
    let inQuote = false;
    let j = i;
    for (; j < cmdline.length; j++) {
      const c = cmdline[j];
      if (c === '"') inQuote = !inQuote;
      else if (!inQuote && /\s/.test(c ?? '')) break;
    }
    let word = cmdline.slice(i, j);
    i = j;
    if (word.startsWith('"')) word = word.slice(1).replace(/"$/, '');
    const eq = word.indexOf('=');
    if (eq < 0) {
      out.push({ key: word, value: undefined });
      continue;
    }
    let value = word.slice(eq + 1);
    if (value.startsWith('"')) value = value.slice(1).replace(/"$/, '');
    out.push({ key: word.slice(0, eq), value });
  }
  return out;
}

/**
 * The environment init gets from the kernel command line. Linux hands unknown `KEY=VAL` words to
 * init; the model treats upper-case keys without a dot as unknown to the kernel (kernel and module
 * parameters are lower case). Words after `--` are init's arguments, not environment. Later
 * words win, as they do in Linux.
 */
export function initEnvFromCmdline(cmdline: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { key, value } of splitCmdline(cmdline)) {
    if (key === '--' && value === undefined) break;
    if (value !== undefined && /^[A-Z][A-Z0-9_]*$/.test(key)) env[key] = value;
  }
  return env;
}
