import type { TopoRange } from '../../lib/config/topology.ts';
import { fdtNode, prop, writeFdt } from '../../lib/fdt/index.ts';
import type { FdtNode } from '../../lib/fdt/index.ts';
import { procfsNotFound, type ProcFs } from '../../lib/abi/procfs.ts';

/** A ProcFs over a map of path → bytes (directories are implied by file paths). */
export function mapProcFs(files: Map<string, Uint8Array>): ProcFs {
  const dirs = (path: string): string[] => {
    const pre = path.endsWith('/') ? path : `${path}/`;
    return [...new Set([...files.keys()].filter((k) => k.startsWith(pre)).map((k) => k.slice(pre.length).split('/')[0] ?? ''))].sort();
  };
  return {
    read: (path) => {
      const f = files.get(path);
      if (f === undefined) throw procfsNotFound(path);
      return f;
    },
    list: (path) => {
      const names = dirs(path);
      if (names.length === 0) throw procfsNotFound(path);
      return names;
    },
    exists: (path) => files.has(path) || dirs(path).length > 0,
  };
}

/** What a hand-built kernel DTB holds; tests derive expectations from the same spec. */
export interface KernelDtSpec {
  arch: 'x86_64' | 'aarch64';
  vps: Array<{ reg: number; vnode: number }>;
  vtl2Ram: Array<TopoRange & { vnode: number }>;
  /** Partition memory map entries: [base, size, memory-type, vnode?]. */
  partition: Array<[number, number, number, number?]>;
  isolation: string;
  mode: 'host' | 'vtl2';
  sidecar: Array<{ ctrl: number; shmem: TopoRange }>;
  accepted: TopoRange[];
}

/** A small valid x86 spec: 4 VPs on 2 vnodes, every region type the parser knows. */
export function baseSpec(): KernelDtSpec {
  const M = 1 << 20;
  return {
    arch: 'x86_64',
    vps: [{ reg: 0, vnode: 0 }, { reg: 2, vnode: 0 }, { reg: 4, vnode: 1 }, { reg: 6, vnode: 1 }],
    vtl2Ram: [{ base: 0x1_0000_0000 + 512 * M, size: 64 * M, vnode: 0 }],
    partition: [
      [0, 256 * M, 0, 0],
      [256 * M, 256 * M, 0, 1],
      [0x1_0000_0000, 512 * M, 0, 1],
      [0xf000_0000, 128 * M, 5],
      [0x10_0000_0000, 1024 * M, 5],
      [0x20_0000_0000, 256 * M, 6],
      [0x1_0000_0000 + 512 * M, 60 * M, 1, 0],
      [0x1_0000_0000 + 572 * M, 1 * M, 2, 0],
      [0x1_0000_0000 + 573 * M, 1 * M, 7, 0],
      [0x1_0000_0000 + 574 * M, 4096, 11, 0],
      [0x1_0000_0000 + 574 * M + 4096, 1 * M - 4096, 12, 0],
      [0x1_0000_0000 + 575 * M, 1 * M, 8, 0],
    ],
    isolation: 'none',
    mode: 'host',
    sidecar: [],
    accepted: [{ base: 0x1_0000_0000 + 512 * M, size: 64 * M }],
  };
}

const u64s = (...v: number[]): bigint[] => v.map(BigInt);

/** The kernel DTB the shim would write for `spec` (openhcl.md "Stage 1c"), as an FDT tree. */
export function kernelTree(spec: KernelDtSpec): FdtNode {
  const x86 = spec.arch === 'x86_64';
  const cpus = spec.vps.map((vp, i) =>
    fdtNode(`cpu@${i + 1}`, [
      prop.str('device_type', 'cpu'),
      x86 ? prop.u32('reg', vp.reg) : prop.u64('reg', BigInt(vp.reg)),
      prop.u32('numa-node-id', vp.vnode),
      prop.str('status', x86 || i === 0 ? 'okay' : 'disabled'),
    ]),
  );
  const memory = spec.vtl2Ram.map((r) =>
    fdtNode(`memory@${r.base.toString(16)}`, [prop.str('device_type', 'memory'), prop.u64('reg', ...u64s(r.base, r.size)), prop.u32('numa-node-id', r.vnode)]),
  );
  const part = spec.partition.map(([base, size, type, vnode]) =>
    fdtNode(`memory@${base.toString(16)}`, [
      ...(type === 5 || type === 6 ? [] : [prop.str('device_type', 'memory-openhcl')]),
      prop.u64('reg', ...u64s(base, size)),
      ...(vnode === undefined ? [] : [prop.u32('numa-node-id', vnode), prop.u32('microsoft,igvm-type', 0)]),
      prop.u32('openhcl,memory-type', type),
    ]),
  );
  const accepted = spec.accepted.map((r) => fdtNode(`accepted-memory@${r.base.toString(16)}`, [prop.u64('reg', ...u64s(r.base, r.size))]));
  const sidecars = spec.sidecar.map((s) =>
    fdtNode(`sidecar@${s.ctrl.toString(16)}`, [
      prop.str('compatible', 'microsoft,openhcl-sidecar'),
      prop.u64('reg', ...u64s(s.ctrl, 4096, s.shmem.base, s.shmem.size)),
      prop.strs('reg-names', ['ctrl', 'shmem']),
    ]),
  );
  return fdtNode('', [prop.u32('#address-cells', 2), prop.u32('#size-cells', 2), prop.str('compatible', 'microsoft,openvmm')], [
    fdtNode('cpus', [prop.u32('#address-cells', x86 ? 1 : 2), prop.u32('#size-cells', 0)], cpus),
    ...memory,
    fdtNode('bus', [prop.str('compatible', 'simple-bus'), prop.u32('#address-cells', 2), prop.u32('#size-cells', 2), prop.empty('ranges')], sidecars),
    fdtNode('openhcl', [prop.str('isolation-type', spec.isolation), prop.str('memory-allocation-mode', spec.mode)], [
      ...part,
      ...accepted,
      fdtNode('entropy', [prop.bytes('reg', new Uint8Array([1, 2, 3, 4]))]),
    ]),
  ]);
}

/** A ProcFs holding the DTB of `tree`, its entropy and a command line. */
export function kernelProcFs(tree: FdtNode, cmdline: string, entropy = new Uint8Array([1, 2, 3, 4])): ProcFs {
  const files = new Map<string, Uint8Array>([
    ['/sys/firmware/fdt', writeFdt({ bootCpuidPhys: 0, reservations: [], root: tree })],
    ['/proc/cmdline', new TextEncoder().encode(`${cmdline}\n`)],
    ['/proc/device-tree/openhcl/entropy/reg', entropy],
  ]);
  return mapProcFs(files);
}
