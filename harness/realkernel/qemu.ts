import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HclError } from '../../lib/errors.ts';
import { run, tail } from './exec.ts';
import { MARK } from './initramfs.ts';

/**
 * Booting a DTB on Linux arm64 under `qemu-system-aarch64 -M virt` (TCG). The machine shape
 * (-smp, -m, -numa) is derived from the same model as the DTB, because qemu rebuilds the memory
 * nodes from -numa and the DTB decides how many CPUs come online (shared/reference/real-kernel.md).
 */

/** One NUMA node of the guest: its CPU indices and RAM size. */
export interface QemuNode {
  cpus: number[];
  memBytes: number;
}

/** The machine to boot: CPUs, nodes (memory laid out by qemu from 0x40000000 in node order). */
export interface BootSpec {
  cpus: number;
  nodes: QemuNode[];
  gicVersion: 2 | 3;
  kernel: string;
  initrd: string;
  dtb: string;
}

/** The qemu binary; `HCLCKPT_QEMU` overrides it (tests point it at a missing file). */
export function qemuBinary(env: NodeJS.ProcessEnv = process.env): string {
  return env['HCLCKPT_QEMU'] ?? 'qemu-system-aarch64';
}

const MiB = 1024 * 1024;
/** GICv2 addresses at most 8 CPUs; the virt machine refuses more. */
const GICV2_MAX_CPUS = 8;

function badSpec(why: string): HclError {
  return new HclError('CONFIG_INVALID', `qemu spec: ${why}`);
}

/** CPU indices as qemu range strings: [0,1,2,5] → ["0-2", "5"]. */
export function cpuRanges(cpus: readonly number[]): string[] {
  const sorted = [...cpus].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === (sorted[j] as number) + 1) j++;
    out.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return out;
}

/** Throws CONFIG_INVALID unless every CPU 0..cpus-1 is in exactly one node and sizes are whole MiB. */
export function validateSpec(spec: BootSpec): void {
  if (!Number.isInteger(spec.cpus) || spec.cpus < 1) throw badSpec(`cpus ${spec.cpus} is not a positive integer`);
  if (spec.gicVersion === 2 && spec.cpus > GICV2_MAX_CPUS) {
    throw badSpec(`gic-version=2 supports at most ${GICV2_MAX_CPUS} cpus, got ${spec.cpus}; use gicVersion 3`);
  }
  if (spec.nodes.length === 0) throw badSpec('no numa nodes');
  const seen = new Set<number>();
  spec.nodes.forEach((n, id) => {
    if (!Number.isSafeInteger(n.memBytes) || n.memBytes < 0 || n.memBytes % MiB !== 0) {
      throw badSpec(`node ${id}: memory ${n.memBytes} bytes is not a whole number of MiB`);
    }
    for (const c of n.cpus) {
      if (!Number.isInteger(c) || c < 0 || c >= spec.cpus) throw badSpec(`node ${id}: cpu ${c} is outside 0-${spec.cpus - 1}`);
      if (seen.has(c)) throw badSpec(`node ${id}: cpu ${c} is in more than one node`);
      seen.add(c);
    }
  });
  if (spec.nodes.every((n) => n.memBytes === 0)) throw badSpec('no node has memory');
  if (seen.size !== spec.cpus) throw badSpec(`${spec.cpus - seen.size} of ${spec.cpus} cpus are in no node`);
}

/**
 * The argv (without the binary) for booting `spec`. No -append: the DTB's /chosen/bootargs
 * must reach the kernel. With `dumpDtb`, qemu writes the final blob to that file and exits.
 */
export function qemuArgsFor(spec: BootSpec, opts: { dumpDtb?: string } = {}): string[] {
  validateSpec(spec);
  const total = spec.nodes.reduce((s, n) => s + n.memBytes, 0);
  const machine = `virt,gic-version=${spec.gicVersion}${opts.dumpDtb === undefined ? '' : `,dumpdtb=${opts.dumpDtb}`}`;
  const args = ['-M', machine, '-accel', 'tcg,thread=single', '-cpu', 'cortex-a57'];
  args.push('-smp', `${spec.cpus}`, '-m', `${total / MiB}M`);
  spec.nodes.forEach((n, id) => {
    const cpus = cpuRanges(n.cpus).map((r) => `,cpus=${r}`).join('');
    // A memoryless node (no VTL2 RAM there) gets no backend; qemu accepts that next to memdev nodes.
    if (n.memBytes > 0) args.push('-object', `memory-backend-ram,id=m${id},size=${n.memBytes}`);
    args.push('-numa', `node,nodeid=${id}${cpus}${n.memBytes > 0 ? `,memdev=m${id}` : ''}`);
  });
  args.push('-display', 'none', '-monitor', 'none', '-serial', 'stdio', '-no-reboot', '-nic', 'none');
  args.push('-kernel', spec.kernel, '-initrd', spec.initrd, '-dtb', spec.dtb);
  return args;
}

/** The serial log of one boot and its wall time. */
export interface BootResult {
  log: string;
  ms: number;
  argv: string[];
}

const DONE = `${MARK}:done`;

/**
 * Boots `spec` with a timeout and returns the serial log; KERNEL_BOOT_FAILED (quoting the log's
 * tail) when qemu fails, times out, or the init script's end marker never appears.
 */
export async function bootDtb(spec: BootSpec, timeoutMs = 120_000): Promise<BootResult> {
  const argv = qemuArgsFor(spec);
  const bin = qemuBinary();
  const r = await run(bin, argv, { timeoutMs });
  if (r.code === 127) {
    throw new HclError('KERNEL_SETUP_FAILED', `kernel boot: cannot run ${bin}: ${tail(r.stderr, 2)}; run \`hclckpt kernel setup\``);
  }
  const log = r.stdout.replace(/\r\n/g, '\n');
  if (!log.includes(`\n${DONE}\n`)) {
    const why = r.timedOut ? `timed out after ${timeoutMs} ms` : `qemu exited with ${r.code} before the end marker`;
    throw new HclError('KERNEL_BOOT_FAILED', `kernel boot of ${spec.dtb}: ${why}; last lines:\n${tail(`${log}\n${r.stderr}`, 15)}`, {
      context: { argv, ms: r.ms },
    });
  }
  return { log, ms: r.ms, argv };
}

/** The exact blob qemu hands the guest for `spec` (qemu's `-M virt,dumpdtb=FILE`). */
export async function dumpQemuDtb(spec: BootSpec): Promise<Uint8Array> {
  const dir = mkdtempSync(join(tmpdir(), 'hclckpt-dumpdtb-'));
  try {
    const file = join(dir, 'final.dtb');
    const r = await run(qemuBinary(), qemuArgsFor(spec, { dumpDtb: file }), { timeoutMs: 30_000 });
    if (r.code !== 0) throw new HclError('KERNEL_BOOT_FAILED', `qemu dumpdtb of ${spec.dtb}: exit ${r.code}: ${tail(r.stderr, 5)}`);
    return new Uint8Array(readFileSync(file));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
