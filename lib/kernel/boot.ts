import { HclError } from '../errors.ts';
import { readFdt } from '../fdt/index.ts';
import type { Fdt, FdtNode } from '../fdt/index.ts';
import type { GuestMemory } from '../memory/index.ts';
import { readHandoff, type KernelHandoff, cpioFiles, readCpio } from '../abi/index.ts';
import { initArgs, splitCmdline, type CmdlineArg } from './cmdline.ts';
import { formatCpuList, parseCpuList } from './cpulist.ts';
import { readHardware, type KernelHardware } from './hardware.ts';
import { MemProcFs, type LazyDir } from './memfs.ts';
import { nodeMeminfo, procMeminfo } from './meminfo.ts';

/** The booted VTL2 kernel: what it parsed, what init gets, and the /proc and /sys it shows. */
export interface Kernel {
  handoff: KernelHandoff;
  fdt: Fdt;
  hardware: KernelHardware;
  cmdline: string;
  args: CmdlineArg[];
  /** init's environment (unknown KEY=VAL arguments, plus HOME and TERM as Linux sets them). */
  env: Record<string, string>;
  /** init's arguments (unknown words without '=', and everything after "--"). */
  argv: string[];
  /** Regular files of the initrd by path ("init", "bin/busybox"). */
  initrd: Map<string, Uint8Array>;
  procfs: MemProcFs;
  /** Logical CPUs online now, sorted. */
  online(): number[];
  /** Brings a present CPU online (one way, as sidecar hands a CPU to Linux); no-op if online. */
  onlineCpu(cpu: number): void;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const line = (s: string): string => `${s}\n`;

/** A node's files: its properties, and Linux's synthesized `name` (node name without unit address, NUL-terminated). */
function nodeFiles(node: FdtNode): Array<readonly [string, Uint8Array]> {
  const files: Array<readonly [string, Uint8Array]> = node.properties.map((p) => [p.name, p.value] as const);
  if (!node.properties.some((p) => p.name === 'name')) files.push(['name', encoder.encode(`${node.name.split('@')[0]}\0`)]);
  return files;
}

/** /proc/device-tree for nodes sharing one path (a tree may repeat a node name): built when first read. */
function deviceTreeDir(nodes: readonly FdtNode[]): () => LazyDir {
  return () => {
    const kids = new Map<string, FdtNode[]>();
    for (const n of nodes) {
      for (const c of n.children) {
        const same = kids.get(c.name);
        if (same === undefined) kids.set(c.name, [c]);
        else same.push(c);
      }
    }
    return { files: nodes.flatMap(nodeFiles), dirs: [...kids].map(([name, list]) => [name, deviceTreeDir(list)] as const) };
  };
}

// A name with '/' in it (possible in a hand-made DTB) writes into another node's directory; only
// the eager walk keeps the order of such overlapping writes, so those trees are added up front.
function plainNames(node: FdtNode): boolean {
  return node.properties.every((p) => !p.name.includes('/')) && node.children.every((c) => !c.name.includes('/') && plainNames(c));
}

function addDeviceTree(fs: MemProcFs, node: FdtNode, dir: string): void {
  for (const [name, value] of nodeFiles(node)) fs.add(`${dir}/${name}`, value);
  for (const c of node.children) addDeviceTree(fs, c, `${dir}/${c.name}`);
}

/** Online CPUs at boot: the boot CPU plus boot_cpus= (OpenHCL's kernel; the rest stay in sidecar), else all. */
function bootOnline(hw: KernelHardware, args: readonly CmdlineArg[]): Set<number> {
  const present = new Set(hw.cpus.map((c) => c.cpu));
  const bootCpus = args.filter((a) => a.key === 'boot_cpus' && a.value !== undefined).at(-1);
  if (bootCpus === undefined) return present;
  let listed: number[];
  try {
    listed = parseCpuList(bootCpus.value!);
  } catch (e) {
    throw new HclError('KERNEL_BOOT_FAILED', `kernel command line: boot_cpus=${bootCpus.value}: not a cpu list`, { cause: e });
  }
  return new Set([0, ...listed.filter((c) => present.has(c))]);
}

function read(memory: GuestMemory, gpa: bigint, size: number, what: string): Uint8Array {
  try {
    return memory.read(gpa, size);
  } catch (e) {
    throw new HclError('KERNEL_HANDOFF_INVALID', `kernel handoff: ${what} at 0x${gpa.toString(16)} (${size} bytes) is not readable`, { cause: e });
  }
}

/**
 * Boots the kernel stage from the handoff record at `handoffGpa`: reads the DTB, command line and
 * initrd from guest memory, parses them as Linux does, and builds the read-only ProcFs.
 */
export function bootKernel(memory: GuestMemory, handoffGpa: bigint, options: { arch?: 'x86_64' | 'aarch64' } = {}): Kernel {
  const handoff = readHandoff(memory, handoffGpa);
  const dtb = read(memory, handoff.dtbGpa, handoff.dtbSize, 'device tree');
  const fdt = readFdt(dtb);
  const blob = dtb.subarray(0, new DataView(dtb.buffer, dtb.byteOffset).getUint32(4, false));
  const cmdline = decoder.decode(read(memory, handoff.cmdlineGpa, handoff.cmdlineSize, 'command line')).replace(/\0+$/, '');
  const initrdBytes = read(memory, handoff.initrdGpa, handoff.initrdSize, 'initrd');
  const initrd = handoff.initrdSize === 0 ? new Map<string, Uint8Array>() : cpioFiles(readCpio(initrdBytes));
  const hardware = readHardware(fdt, options.arch);
  const args = splitCmdline(cmdline);
  const { env, argv } = initArgs(args);
  const online = bootOnline(hardware, args);

  const fs = new MemProcFs();
  fs.add('/sys/firmware/fdt', blob);
  if (plainNames(fdt.root)) fs.mount('/proc/device-tree', deviceTreeDir([fdt.root]));
  else addDeviceTree(fs, fdt.root, '/proc/device-tree');
  fs.add('/proc/cmdline', line(cmdline));
  const cpu = '/sys/devices/system/cpu';
  const all = hardware.cpus.map((c) => c.cpu);
  const present = encoder.encode(line(formatCpuList(all)));
  fs.add(`${cpu}/possible`, present);
  fs.add(`${cpu}/present`, present);
  const onlineText = (): Uint8Array => encoder.encode(line(formatCpuList(online)));
  fs.add(`${cpu}/online`, onlineText);
  const nodeDir = '/sys/devices/system/node';
  const ramKb = (n: number): number =>
    Number(hardware.memory.filter((m) => m.node === n).reduce((s, m) => s + m.size, 0n) / 1024n);
  const onlineInNode = (n: number): number[] => hardware.cpus.filter((c) => c.node === n && online.has(c.cpu)).map((c) => c.cpu);
  fs.add(`${nodeDir}/possible`, line(formatCpuList(hardware.nodes)));
  fs.add(`${nodeDir}/online`, line(formatCpuList(hardware.nodes)));
  fs.add(`${nodeDir}/has_cpu`, () => encoder.encode(line(formatCpuList(hardware.nodes.filter((n) => onlineInNode(n).length > 0)))));
  fs.add(`${nodeDir}/has_memory`, line(formatCpuList(hardware.nodes.filter((n) => ramKb(n) > 0))));
  // Like Linux's sysfs, a node's files are text made when read: a boot reads few of 64 nodes' files.
  for (const n of hardware.nodes) {
    fs.add(`${nodeDir}/node${n}/cpulist`, () => encoder.encode(line(formatCpuList(onlineInNode(n)))));
    fs.add(`${nodeDir}/node${n}/distance`, () => encoder.encode(line(hardware.nodes.map((m) => String(hardware.distance(n, m))).join(' '))));
    fs.add(`${nodeDir}/node${n}/meminfo`, () => encoder.encode(nodeMeminfo(n, ramKb(n))));
  }
  fs.add('/proc/meminfo', procMeminfo(hardware.nodes.reduce((s, n) => s + ramKb(n), 0), hardware.arch));

  return {
    handoff, fdt, hardware, cmdline, args, env, argv, initrd, procfs: fs,
    online: () => [...online].sort((a, b) => a - b),
    onlineCpu: (c: number) => {
      if (!all.includes(c)) throw new HclError('KERNEL_CPU_INVALID', `kernel: cpu ${c} is not present (present: ${formatCpuList(all)})`);
      online.add(c);
    },
  };
}
