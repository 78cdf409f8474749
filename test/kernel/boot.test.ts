import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fdtNode, prop, writeFdt } from '../../lib/fdt/index.ts';
import type { FdtNode } from '../../lib/fdt/index.ts';
import { readText, writeCpio } from '../../lib/abi/index.ts';
import { GuestMemory } from '../../lib/memory/index.ts';
import { isHclError, type HclErrorCode } from '../../lib/errors.ts';
import { bootKernel } from '../../lib/kernel/index.ts';
import { bootFromParts } from './boot-helpers.ts';

const GiB = 1n << 30n;
const MiB = 1n << 20n;
// x86 as the OpenHCL shim writes it: cpu@{vp+1} in VP order, 3 VPs per vnode.
const VNODES = [0, 0, 0, 1, 1, 1];
const RAM: Array<[bigint, bigint, number]> = [[0n, GiB, 0], [2n * GiB, 256n * MiB, 0], [4n * GiB, 512n * MiB, 1]];

function tree(opts: { memoryNids?: boolean; cpuStatus?: (vp: number) => string; distance?: bigint[] } = {}): FdtNode {
  const cpus = VNODES.map((n, vp) =>
    fdtNode(`cpu@${vp + 1}`, [prop.str('device_type', 'cpu'), prop.u32('reg', vp * 2), prop.str('status', opts.cpuStatus?.(vp) ?? 'okay'), prop.u32('numa-node-id', n)]),
  );
  const memory = RAM.map(([base, size, n]) =>
    fdtNode(`memory@${base.toString(16)}`, [prop.str('device_type', 'memory'), prop.u64('reg', base, size), ...(opts.memoryNids === false ? [] : [prop.u32('numa-node-id', n)])]),
  );
  return fdtNode('', [prop.u32('#address-cells', 2), prop.u32('#size-cells', 2), prop.str('compatible', 'microsoft,openvmm')], [
    fdtNode('cpus', [prop.u32('#address-cells', 1), prop.u32('#size-cells', 0)], cpus),
    ...memory,
    fdtNode('distance-map', [prop.str('compatible', 'numa-distance-map-v1'), prop.cells('distance-matrix', (opts.distance ?? [0n, 0n, 10n, 0n, 1n, 21n, 1n, 1n, 10n]).map((x) => [x, 1] as const))]),
    fdtNode('openhcl', [prop.str('isolation-type', 'none')], [
      // The partition map: the kernel must not count this as RAM.
      fdtNode('memory@0', [prop.str('device_type', 'memory-openhcl'), prop.u64('reg', 0n, 64n * GiB), prop.u32('numa-node-id', 1)]),
    ]),
  ]);
}

const CMDLINE = 'loglevel=8 log_buf_len=128K printk.time=1 rdinit=/underhill-init OPENHCL_NVME_VFIO=1 clearcpuid=pcid iommu=off pci=off acpi=off swiotlb=1,1 console=ttyS2,115200 boot_cpus=0,3 hv_vmbus.message_connection_id=0x800074 OPENHCL_X="a b"';
const INIT = new TextEncoder().encode('#!/bin/sh\n');
const boot = (root = tree(), cmdline = CMDLINE) =>
  bootFromParts({ dtb: writeFdt({ bootCpuidPhys: 0, reservations: [], root }), cmdline, initrd: writeCpio({ 'underhill-init': INIT }) });
const text = (k: ReturnType<typeof boot>, p: string): string => readText(k.procfs, p);
const kb = (...sizes: bigint[]): number => Number(sizes.reduce((a, b) => a + b, 0n) / 1024n);

test('cpus: all okay nodes possible/present, boot_cpus online, onlineCpu brings one more (one way)', () => {
  const k = boot();
  assert.is(text(k, '/sys/devices/system/cpu/possible'), '0-5\n');
  assert.is(text(k, '/sys/devices/system/cpu/present'), '0-5\n');
  assert.is(text(k, '/sys/devices/system/cpu/online'), '0,3\n');
  assert.is(text(k, '/sys/devices/system/node/node0/cpulist'), '0\n');
  k.onlineCpu(1);
  k.onlineCpu(1);
  assert.is(text(k, '/sys/devices/system/cpu/online'), '0-1,3\n');
  assert.is(text(k, '/sys/devices/system/node/node0/cpulist'), '0-1\n');
  assert.equal(k.online(), [0, 1, 3]);
});

test('without boot_cpus every present cpu is online; a non-okay x86 cpu is not possible', () => {
  const k = boot(tree({ cpuStatus: (vp) => (vp === 5 ? 'disabled' : 'okay') }), 'console=ttyS0');
  assert.is(text(k, '/sys/devices/system/cpu/possible'), '0-4\n');
  assert.is(text(k, '/sys/devices/system/cpu/online'), '0-4\n');
  assert.is(text(k, '/sys/devices/system/node/has_cpu'), '0-1\n');
});

test('has_cpu follows online cpus', () => {
  const k = boot(tree(), 'boot_cpus=0');
  assert.is(text(k, '/sys/devices/system/node/has_cpu'), '0\n');
  k.onlineCpu(4);
  assert.is(text(k, '/sys/devices/system/node/has_cpu'), '0-1\n');
});

test('NUMA: nodes, distances from the matrix (B→A mirrored), per-node and total memory', () => {
  const k = boot();
  for (const f of ['possible', 'online', 'has_memory']) assert.is(text(k, `/sys/devices/system/node/${f}`), '0-1\n', f);
  assert.is(text(k, '/sys/devices/system/node/node0/distance'), '10 21\n');
  assert.is(text(k, '/sys/devices/system/node/node1/distance'), '21 10\n');
  const node0 = kb(RAM[0]![1], RAM[1]![1]);
  assert.ok(text(k, '/sys/devices/system/node/node0/meminfo').startsWith(`Node 0 MemTotal:       ${String(node0).padStart(8)} kB\nNode 0 MemFree:        ${String(node0).padStart(8)} kB\n`));
  assert.ok(text(k, '/proc/meminfo').startsWith(`MemTotal:       ${String(kb(...RAM.map((r) => r[1]))).padStart(8)} kB\n`));
});

test('NUMA defaults: no distance-map gives 10 local / 20 remote; a bad matrix or a memory range without a node falls back to one node', () => {
  const noMap = tree();
  noMap.children = noMap.children.filter((c) => c.name !== 'distance-map');
  assert.is(text(boot(noMap), '/sys/devices/system/node/node1/distance'), '20 10\n');
  for (const root of [tree({ memoryNids: false }), tree({ distance: [0n, 1n, 10n] })]) {
    const k = boot(root, 'console=ttyS0');
    assert.is(text(k, '/sys/devices/system/node/online'), '0\n');
    assert.is(text(k, '/sys/devices/system/node/node0/cpulist'), '0-5\n');
    assert.ok(k.hardware.numaFallback);
  }
});

test('device tree files: raw property bytes, a name file per node (root "\\0"), the exact blob', () => {
  const root = tree();
  const dtb = writeFdt({ bootCpuidPhys: 0, reservations: [], root });
  const k = boot(root);
  assert.equal(k.procfs.read('/sys/firmware/fdt'), dtb);
  assert.equal(k.procfs.read('/proc/device-tree/name'), Uint8Array.of(0));
  assert.equal(k.procfs.read('/proc/device-tree/cpus/cpu@4/name'), new TextEncoder().encode('cpu\0'));
  assert.equal(k.procfs.read('/proc/device-tree/cpus/cpu@4/reg'), Uint8Array.of(0, 0, 0, 6));
  assert.equal(k.procfs.list('/proc/device-tree/openhcl'), ['isolation-type', 'memory@0', 'name']);
  assert.equal(k.procfs.list('/sys/devices/system/node'), ['has_cpu', 'has_memory', 'node0', 'node1', 'online', 'possible']);
});

test('cmdline, init environment and initrd', () => {
  const k = boot();
  assert.is(text(k, '/proc/cmdline'), `${CMDLINE}\n`);
  assert.equal(k.env, { HOME: '/', TERM: 'linux', OPENHCL_NVME_VFIO: '1', OPENHCL_X: 'a b' });
  assert.equal(k.initrd, new Map([['underhill-init', INIT]]));
});

function fails(code: HclErrorCode, message: string, fn: () => unknown): void {
  try {
    fn();
    assert.unreachable();
  } catch (e) {
    assert.ok(isHclError(e, code), String(e));
    assert.match((e as Error).message, message);
  }
}

test('errors: missing handoff, bad DTB, bad initrd, unknown cpu, missing file', () => {
  fails('KERNEL_HANDOFF_INVALID', 'kernel handoff at 0x1000: bad magic', () => bootKernel(new GuestMemory(), 0x1000n));
  fails('FDT_BAD_MAGIC', 'fdt header: bad magic', () => bootFromParts({ dtb: new Uint8Array(64), cmdline: '' }));
  const dtb = writeFdt({ bootCpuidPhys: 0, reservations: [], root: tree() });
  fails('KERNEL_INITRD_INVALID', 'initrd at 0x0: bad magic', () => bootFromParts({ dtb, cmdline: '', initrd: new Uint8Array(200).fill(0x41) }));
  // Linux skips NUL padding before an archive, so an all-zero initrd is an empty one.
  assert.is(bootFromParts({ dtb, cmdline: '', initrd: new Uint8Array(200) }).initrd.size, 0);
  fails('KERNEL_BOOT_FAILED', 'boot_cpus=x', () => bootFromParts({ dtb, cmdline: 'boot_cpus=x' }));
  fails('KERNEL_CPU_INVALID', 'kernel: cpu 9 is not present (present: 0-5)', () => boot().onlineCpu(9));
  fails('PROCFS_NOT_FOUND', 'procfs: /proc/nope: no such file or directory', () => boot().procfs.read('/proc/nope'));
  fails('KERNEL_BOOT_FAILED', 'no /cpus node', () => bootFromParts({ dtb: writeFdt({ bootCpuidPhys: 0, reservations: [], root: fdtNode('') }), cmdline: '' }));
});

// The boot CPU runs the kernel before boot_cpus= is read: it is online even when the list omits
// it (OpenHCL's boot_cpus= names the APs Linux brings up; the rest stay with sidecar).
test('boot_cpus=1 still has cpu 0 online', () => {
  const k = boot(tree(), 'boot_cpus=1');
  assert.is(text(k, '/sys/devices/system/cpu/online'), '0-1\n');
  assert.equal(k.online(), [0, 1]);
});

test.run();
