import { fdtNode, prop, writeFdt, type FdtNode } from '../../lib/fdt/index.ts';
import { GuestMemory } from '../../lib/memory/index.ts';
import {
  PARAM_REGION_PAGES, defaultLayout, encodeCommandLinePage, encodeShimParams, encodeSlit,
  type CommandLinePolicy, type IsolationName, type ShimLayout,
} from '../../lib/abi/index.ts';

/** A small host description for tests; the host DT is built from it with the lib/fdt writer. */
export interface HostSpec {
  arch: 'x86_64' | 'aarch64';
  vnodes: number[];
  /** RAM per vnode, one range each, 1 GiB apart from 4 GiB upward. */
  ramPerNode: bigint;
  vtl0Mmio: Array<[bigint, bigint]>;
  vtl2Mmio: Array<[bigint, bigint]>;
  bootargs: string;
  mode: 'host' | 'vtl2';
  isolation: IsolationName;
  staticLine: string;
  policy: CommandLinePolicy;
  com3: boolean;
  keepAliveNvme: boolean;
  sidecarSize: number;
  /** VTL2 base; arm64 under qemu -M virt needs it at or above 0x40000000. */
  vtl2Base: bigint;
  distances?: number[][];
}

export const GIB = 0x4000_0000n;
export const defaults: HostSpec = {
  arch: 'x86_64', vnodes: [0, 0, 0, 0], ramPerNode: GIB, vtl0Mmio: [[0xf000_0000n, 0x800_0000n], [0x10_0000_0000n, 0x4000_0000n]],
  vtl2Mmio: [[0x10_4000_0000n, 0x800_0000n]], bootargs: '', mode: 'host', isolation: 'none', staticLine: '', policy: 'append-chosen', com3: true,
  keepAliveNvme: false, sidecarSize: 0x1_0000, vtl2Base: 0x800_0000n,
};

/** The host device tree root for `s`; `edit` may break it before it is written. */
export function hostTree(s: HostSpec, layout: ShimLayout): FdtNode {
  const arm = s.arch === 'aarch64';
  const nodes = [...new Set(s.vnodes)];
  const cpus = s.vnodes.map((v, i) => fdtNode(`cpu@${i}`, [
    prop.str('device_type', 'cpu'), arm ? prop.u64('reg', BigInt(i)) : prop.u32('reg', i), prop.u32('numa-node-id', v), prop.str('status', 'okay'),
  ]));
  const mem = nodes.map((v, i) => {
    const base = (4n + BigInt(i)) * GIB;
    return fdtNode(`memory@${base.toString(16)}`, [prop.str('device_type', 'memory'), prop.u64('reg', base, s.ramPerNode), prop.u32('numa-node-id', v)]);
  });
  if (s.mode === 'host') {
    mem.push(fdtNode(`memory@${layout.vtl2.gpa.toString(16)}`, [
      prop.str('device_type', 'memory'), prop.u64('reg', layout.vtl2.gpa, layout.vtl2.size), prop.u32('numa-node-id', s.vnodes[0]!), prop.u32('microsoft,igvm-type', 3),
    ]));
  }
  const vmbus = (vtl: number, ranges: Array<[bigint, bigint]>, id: number): FdtNode => fdtNode(`vmbus-vtl${vtl}`, [
    prop.str('compatible', 'microsoft,vmbus'), prop.u32('microsoft,vtl', vtl), prop.u32('#address-cells', 2), prop.u32('#size-cells', 2),
    prop.u64('ranges', ...ranges.flatMap(([b, n]) => [b, b, n])), prop.u32('microsoft,message-connection-id', id),
  ]);
  // Platform devices in the form host_fdt_parser reads (and OpenVMM's build_device_tree writes).
  const platform: FdtNode[] = [];
  if (arm) {
    platform.push(fdtNode('intc@8000000', [
      prop.str('compatible', 'arm,gic-v3'), prop.u32('#redistributor-regions', 1), prop.u64('redistributor-stride', 0x2_0000n),
      prop.u64('reg', 0x800_0000n, 0x1_0000n, 0x80a_0000n, 0x2_0000n * BigInt(s.vnodes.length)),
      prop.u32('#address-cells', 2), prop.u32('#size-cells', 2), prop.u32('#interrupt-cells', 3), prop.empty('interrupt-controller'),
    ]));
    if (s.com3) platform.push(fdtNode('serial@9000000', [prop.str('compatible', 'arm,sbsa-uart'), prop.u64('reg', 0x900_0000n, 0x1000n), prop.u32('interrupts', 0, 1, 4), prop.u32('current-speed', 115200)]));
  } else if (s.com3) {
    platform.push(fdtNode('pio-bus', [prop.str('compatible', 'x86-pio-bus'), prop.u32('#address-cells', 1), prop.u32('#size-cells', 1), prop.empty('ranges')], [
      fdtNode('serial@3e8', [prop.str('compatible', 'ns16550'), prop.u32('current-speed', 115200), prop.u64('reg', 0x3e8n, 8n), prop.u64('interrupts', 4n)]),
    ]));
  }
  return fdtNode('', [prop.u32('#address-cells', 2), prop.u32('#size-cells', 2)], [
    fdtNode('cpus', [prop.u32('#address-cells', arm ? 2 : 1), prop.u32('#size-cells', 0)], cpus),
    ...mem,
    fdtNode('chosen', [prop.str('bootargs', s.bootargs)]),
    fdtNode('openhcl', [prop.str('memory-allocation-mode', s.mode)], [
      fdtNode('entropy', [prop.bytes('reg', Uint8Array.of(1, 2, 3, 4))]),
      ...(s.keepAliveNvme ? [fdtNode('keep-alive', [prop.str('device-types', 'nvme')])] : []),
    ]),
    fdtNode('vmbus-bus', [prop.str('compatible', 'simple-bus'), prop.empty('ranges')], [vmbus(0, s.vtl0Mmio, 0x4000), vmbus(2, s.vtl2Mmio, 0x800074)]),
    ...platform,
  ]);
}

/** Lays out VTL2 memory like the host loader: shim params, command line page, host DTB, SLIT. */
export function bootImage(spec: Partial<HostSpec> = {}, edit?: (root: FdtNode) => void): { memory: GuestMemory; layout: ShimLayout; spec: HostSpec } {
  const s = { ...defaults, ...spec };
  const layout = defaultLayout(s.vtl2Base, undefined, { arch: s.arch, isolation: s.isolation, sidecarSize: s.sidecarSize });
  const memory = new GuestMemory();
  memory.write(layout.shimParamsGpa, encodeShimParams(layout.params));
  memory.write(layout.cmdlinePage.gpa, encodeCommandLinePage({ policy: s.policy, line: s.staticLine }));
  const root = hostTree(s, layout);
  edit?.(root);
  memory.write(layout.paramRegion.gpa + BigInt(PARAM_REGION_PAGES.deviceTree.first * 4096), writeFdt({ bootCpuidPhys: 0, reservations: [], root }));
  if (s.distances !== undefined) memory.write(layout.paramRegion.gpa, encodeSlit(s.distances));
  return { memory, layout, spec: s };
}
