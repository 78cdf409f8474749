import type { Topology, VmConfig } from '../../lib/config/index.ts';
import { HclError } from '../../lib/errors.ts';
import type { ProcFs } from '../../lib/abi/index.ts';
import { runCheck, type CheckInput, type CheckResult } from './check.ts';
import { shapeFromTopology } from './spec.ts';

/**
 * The real-kernel check of a booted VM: the kernel DTB the shim wrote is booted on Linux arm64
 * under qemu with a machine derived from the same config and topology, and what Linux reports is
 * compared with the model kernel's ProcFs for that boot.
 */

/** The parts of a booted VM (harness/pipeline.ts `Vm`) the check reads. */
export interface CheckableVm {
  config: VmConfig;
  shim: { dtb: Uint8Array };
  kernel: { procfs: ProcFs };
  discovered: { topology: Topology };
}

/**
 * Options of `checkVm`. `expectInCmdline`: text the real /proc/cmdline must contain (a restore's
 * new host command line); `perturb` is a test-only seam that alters the model's ProcFs.
 */
export type VmCheckOptions = Omit<CheckInput, 'dtb' | 'spec' | 'model'> & { expectInCmdline?: string; perturb?: (model: ProcFs) => ProcFs };

/** USAGE unless the config is aarch64: x86 Linux takes its topology from ACPI, not from a DTB. */
export function requireAarch64(config: VmConfig): void {
  if (config.arch !== 'aarch64') {
    throw new HclError(
      'USAGE',
      `kernel check: config ${config.name} is ${config.arch}; only aarch64 can be checked, because x86 Linux takes CPUs, NUMA and memory from ACPI/e820 rather than from the device tree (and Debian's x86 kernels have CONFIG_OF off)`,
    );
  }
}

/** Runs the real-kernel check for `vm`; the result lists every difference (empty = agreement). */
export async function checkVm(vm: CheckableVm, opts: VmCheckOptions = {}): Promise<CheckResult> {
  requireAarch64(vm.config);
  const { perturb, expectInCmdline, ...rest } = opts;
  const spec = shapeFromTopology(vm.config, vm.discovered.topology);
  const model = perturb === undefined ? vm.kernel.procfs : perturb(vm.kernel.procfs);
  const r = await runCheck({ ...rest, dtb: vm.shim.dtb, spec, model });
  if (expectInCmdline !== undefined && !r.report.cmdline.includes(expectInCmdline)) {
    r.differences.push({ path: '/proc/cmdline', model: `contains ${JSON.stringify(expectInCmdline)}`, real: r.report.cmdline, rule: 'the host command line of the restore must reach the kernel' });
  }
  return r;
}

/** A ProcFs that answers `files` (path → text) itself and everything else from `base`. */
export function overlayProcFs(base: ProcFs, files: Readonly<Record<string, string>>): ProcFs {
  const enc = new TextEncoder();
  return {
    read: (p) => (Object.hasOwn(files, p) ? enc.encode(files[p]) : base.read(p)),
    list: (p) => base.list(p),
    exists: (p) => Object.hasOwn(files, p) || base.exists(p),
  };
}

function modelText(fs: ProcFs, path: string): string | null {
  return fs.exists(path) ? new TextDecoder().decode(fs.read(path)) : null;
}

function kb(meminfo: string | null): number | null {
  const m = meminfo?.match(/MemTotal:\s+(\d+) kB/)?.[1];
  return m === undefined ? null : Number(m);
}

/**
 * The full comparison as plain data for `--json`: each compared text side by side (model and
 * real), the real per-node page counts, the qemu argv, boot time and every difference.
 */
export function comparisonJson(r: CheckResult, model: ProcFs): Record<string, unknown> {
  const side = (path: string, real: string | undefined): { model: string | null; real: string | null } => ({ model: modelText(model, path), real: real ?? null });
  const cpu = '/sys/devices/system/cpu';
  const node = '/sys/devices/system/node';
  return {
    ok: r.differences.length === 0,
    bootMs: r.bootMs,
    cmdline: side('/proc/cmdline', r.report.cmdline),
    cpu: { possible: side(`${cpu}/possible`, r.report.cpu.possible), present: side(`${cpu}/present`, r.report.cpu.present), online: side(`${cpu}/online`, r.report.cpu.online) },
    node: { possible: side(`${node}/possible`, r.report.node.possible), online: side(`${node}/online`, r.report.node.online) },
    nodes: r.report.nodes.map((n) => ({
      id: n.id,
      cpulist: side(`${node}/node${n.id}/cpulist`, n.cpulist),
      distance: side(`${node}/node${n.id}/distance`, n.distance),
      memTotalKb: { model: kb(modelText(model, `${node}/node${n.id}/meminfo`)), real: n.memTotalKb },
      pages: n.pages,
    })),
    openhcl: Object.keys(r.report.openhcl).sort(),
    qemu: r.argv,
    differences: r.differences,
  };
}
