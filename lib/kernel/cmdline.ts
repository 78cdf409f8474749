import { HclError } from '../errors.ts';

/** One command line argument as Linux's parser sees it: `key` alone, or `key=value`. */
export interface CmdlineArg {
  key: string;
  /** The text after the first '=', outer quotes removed; undefined when there is no '='. */
  value: string | undefined;
}

const isSpace = (c: string): boolean => c === ' ' || (c >= '\t' && c <= '\r');

/**
 * Splits a kernel command line into arguments exactly as Linux's next_arg (lib/cmdline.c):
 * spaces separate words except inside double quotes; `KEY="a b"` gives value `a b`; a word that
 * starts with a quote loses it and its closing quote; quotes elsewhere are kept.
 */
export function splitCmdline(text: string): CmdlineArg[] {
  const out: CmdlineArg[] = [];
  let at = 0;
  while (at < text.length && isSpace(text[at]!)) at++;
  while (at < text.length) {
    let quoted = false;
    let inQuote = false;
    if (text[at] === '"') {
      at++;
      quoted = inQuote = true;
    }
    let i = at;
    let equals = -1;
    for (; i < text.length; i++) {
      const c = text[i]!;
      if (isSpace(c) && !inQuote) break;
      // Linux records the first '=' only past position 0 (its `equals == 0` means "none").
      if (equals < 0 && c === '=' && i > at) equals = i;
      if (c === '"') inQuote = !inQuote;
    }
    // Linux NULs out a closing quote in place, so at most one trailing quote is dropped.
    let end = i;
    let valueStart = equals + 1;
    if (equals >= 0 && text[valueStart] === '"') {
      valueStart++;
      if (text[i - 1] === '"') end = i - 1;
    }
    if (quoted && end === i && i > at && text[i - 1] === '"') end = i - 1;
    out.push(
      equals < 0
        ? { key: text.slice(at, end), value: undefined }
        : { key: text.slice(at, equals), value: text.slice(valueStart, Math.max(valueStart, end)) },
    );
    at = i < text.length ? i + 1 : i;
    while (at < text.length && isSpace(text[at]!)) at++;
  }
  return out;
}

/**
 * Parameters the kernel consumes itself (never passed to init): the ones the OpenHCL shim
 * generates plus common built-in ones. Dotted names are module parameters and are also consumed.
 * `boot_cpus` is OpenHCL's kernel patch, not upstream.
 */
export const KERNEL_PARAMS: ReadonlySet<string> = new Set([
  'loglevel', 'log_buf_len', 'console', 'earlycon', 'earlyprintk', 'rdinit', 'init', 'root', 'rootwait',
  'rootfstype', 'ro', 'rw', 'quiet', 'debug', 'ignore_loglevel', 'clearcpuid', 'iommu', 'pci', 'acpi',
  'swiotlb', 'boot_cpus', 'panic', 'panic_on_warn', 'nokaslr', 'kaslr', 'mem', 'memmap', 'maxcpus',
  'nr_cpus', 'possible_cpus', 'nosmp', 'numa', 'crashkernel', 'initrd', 'mitigations', 'pti', 'nopti',
  'hugepages', 'hugepagesz', 'default_hugepagesz', 'cma', 'isolcpus', 'nohz_full', 'rcu_nocbs',
  'irqaffinity', 'transparent_hugepage', 'efi', 'noefi', 'nox2apic', 'x2apic_phys', 'noapic', 'nolapic',
  'tsc', 'clocksource', 'hpet', 'nmi_watchdog', 'lpj', 'idle', 'audit', 'security', 'selinux',
  'apparmor', 'vsyscall', 'spectre_v2', 'ssbd', 'nospectre_v2', 'nosmt', 'psci', 'keep_bootcon',
  'printk_ratelimit', 'no_hash_pointers', 'oops', 'reboot', 'sysrq_always_enabled',
]);

// Linux compares kernel parameter names with '-' and '_' equivalent (parameqn).
const normal = (key: string): string => key.replaceAll('-', '_');
const KNOWN = new Set([...KERNEL_PARAMS].map(normal));

/** True when Linux would consume `key` itself rather than hand it to init. */
export function isKernelParam(key: string): boolean {
  return KNOWN.has(normal(key)) || key.includes('.');
}

/** What init receives: its environment and its arguments. */
export interface InitArgs {
  env: Record<string, string>;
  argv: string[];
}

/** init/main.c MAX_INIT_ENVS: with HOME and TERM, envp_init holds at most 33 entries. */
const MAX_INIT_ENVS = 32;

/**
 * What init/main.c hands to init: unknown `KEY=VAL` arguments become environment variables
 * (a later one replaces an earlier one of the same key), other unknown words and everything
 * after "--" become arguments. The environment starts with HOME=/ and TERM=linux as in Linux.
 */
export function initArgs(args: readonly CmdlineArg[]): InitArgs {
  const env = new Map<string, string>([['HOME', '/'], ['TERM', 'linux']]);
  const argv: string[] = [];
  let afterDashes = false;
  for (const { key, value } of args) {
    const word = value === undefined ? key : `${key}=${value}`;
    if (afterDashes) {
      argv.push(word);
    } else if (value === undefined && key === '--') {
      afterDashes = true;
    } else if (isKernelParam(key)) {
      continue;
    } else if (value === undefined) {
      argv.push(word);
    } else {
      const index = [...env.keys()].indexOf(key);
      // Linux panics when its search loop reaches slot MAX_INIT_ENVS while it is still in use.
      if (env.size > MAX_INIT_ENVS && (index < 0 || index >= MAX_INIT_ENVS)) {
        throw new HclError('KERNEL_BOOT_FAILED', `kernel command line: too many boot env vars at \`${key}'`);
      }
      env.set(key, value);
    }
  }
  return { env: Object.fromEntries(env), argv };
}
