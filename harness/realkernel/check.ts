import { closeSync, constants, fstatSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProcFs } from '../../lib/abi/index.ts';
import { HclError } from '../../lib/errors.ts';
import { compareWithModel } from './compare.ts';
import { diffFdt, type Difference } from './fdtdiff.ts';
import { bootDtb, cpuRanges, type BootSpec } from './qemu.ts';
import { parseReport, type RealKernelReport } from './report.ts';
import { requireAssets, type KernelAssets } from './setup.ts';
import { shapeFromDtb, type MachineShape } from './spec.ts';

/** One real-kernel boot and comparison, for a DTB with or without the model's ProcFs. */

/** Input of one real-kernel check. */
export interface CheckInput {
  /** The kernel DTB to boot (bytes). */
  dtb: Uint8Array;
  /** Machine shape; read from the DTB when omitted. */
  spec?: MachineShape;
  /** The model's view of the same boot; without it only the blob and CPU count are checked. */
  model?: ProcFs;
  assets?: KernelAssets;
  timeoutMs?: number;
  /** Directory that keeps the DTB, qemu argv, serial log, real FDT and report. */
  keep?: string;
}

/** Outcome of one check: the real report, every difference (empty = agreement), boot time. */
export interface CheckResult {
  report: RealKernelReport;
  differences: Difference[];
  bootMs: number;
  argv: string[];
}

/**
 * Writes one kept file: a new file or an existing regular one, never through a symlink, FIFO or
 * device that somebody planted in the --keep directory (FILE_NOT_REGULAR).
 */
function writeKept(path: string, data: Uint8Array | string): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o644);
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code;
    const code = errno === 'ELOOP' || errno === 'ENXIO' || errno === 'EISDIR' ? 'FILE_NOT_REGULAR' : 'FILE_IO';
    throw new HclError(code, `kernel check: ${path}: not written (${(e as Error).message})`, { cause: e });
  }
  try {
    if (!fstatSync(fd).isFile()) throw new HclError('FILE_NOT_REGULAR', `kernel check: ${path}: not a regular file; nothing written`);
    ftruncateSync(fd);
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at);
  } finally {
    closeSync(fd);
  }
}

/**
 * Boots `dtb` on the real kernel and compares: with a model, `compareWithModel`; without, the
 * blob (QEMU_REWRITES excepted) and that every CPU in the DTB came online.
 */
export async function runCheck(input: CheckInput): Promise<CheckResult> {
  const assets = input.assets ?? requireAssets();
  const shape = input.spec ?? shapeFromDtb(input.dtb);
  const dir = input.keep ?? mkdtempSync(join(tmpdir(), 'hclckpt-kernel-'));
  try {
    mkdirSync(dir, { recursive: true });
    const dtbPath = join(dir, 'model.dtb');
    writeKept(dtbPath, input.dtb);
    const spec: BootSpec = { ...shape, kernel: assets.kernel, initrd: assets.initrd, dtb: dtbPath };
    const boot = await bootDtb(spec, input.timeoutMs);
    if (input.keep !== undefined) {
      writeKept(join(dir, 'serial.log'), boot.log);
      writeKept(join(dir, 'qemu-args.txt'), `${boot.argv.join(' \\\n  ')}\n`);
    }
    const report = parseReport(boot.log);
    if (input.keep !== undefined) writeKept(join(dir, 'real.dtb'), report.fdt);
    let differences: Difference[];
    if (input.model !== undefined) differences = compareWithModel(report, input.model, input.dtb);
    else {
      const online = `${cpuRanges([...Array(shape.cpus).keys()]).join(',')}\n`;
      differences = report.cpu.online === online ? [] : [{ path: '/sys/devices/system/cpu/online', model: online, real: report.cpu.online }];
      differences.push(...diffFdt(input.dtb, report.fdt));
    }
    return { report, differences, bootMs: boot.ms, argv: boot.argv };
  } finally {
    if (input.keep === undefined) rmSync(dir, { recursive: true, force: true });
  }
}

