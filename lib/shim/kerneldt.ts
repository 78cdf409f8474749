import { HclError } from '../errors.ts';
import { FdtBuilder, fdtNode, prop } from '../fdt/index.ts';
import type { FdtNode } from '../fdt/index.ts';
import type { HostDt } from './hostdt.ts';
import { HEAP_LAYOUT, type IsolationName, type Region } from '../abi/index.ts';
import type { MemoryEntry, Vtl2Range } from './partition.ts';
import type { PersistedPayload } from '../abi/index.ts';

/**
 * How arm64 CPUs other than VP 0 are marked. "openhcl": "disabled" as OpenHCL does (its patched
 * kernel onlines them later). "okay" (the model's default): every CPU "okay", so a stock kernel
 * boots them all — a documented difference from OpenHCL.
 */
export type Arm64CpuStatus = 'okay' | 'openhcl';

/** Everything the kernel device tree is built from. */
export interface KernelDtInputs {
  arch: 'x86_64' | 'aarch64';
  isolation: IsolationName;
  allocationMode: 'host' | 'vtl2';
  cpus: Array<{ reg: bigint; vnode: number }>;
  vtl2Ram: Vtl2Range[];
  /** Partition memory, VTL2 ranges already split by use (see `splitMemoryMap`). */
  memoryMap: MemoryEntry[];
  mmio: PersistedPayload['partitionMmio'];
  vmbusVtl2: { connectionId: number; mmio: Region[] };
  sidecarNodes: Array<{ controlPage: bigint; shmemBase: bigint; shmemSize: bigint }>;
  entropy?: Uint8Array;
  vtl0AliasMap?: bigint;
  cmdline: string;
  initrd: Region;
  reservations: Region[];
  /** Distance matrix (SLIT); arm64 gets a /distance-map. */
  distances?: number[][];
  platform: Pick<HostDt, 'gic' | 'com3' | 'vtl2MemorySize' | 'vtl2MmioSize'>;
  arm64CpuStatus: Arm64CpuStatus;
}

const GIC_PHANDLE = 1;
const hx = (n: bigint): string => n.toString(16);
const reg = (...pairs: Array<readonly [bigint, bigint]>) => prop.u64('reg', ...pairs.flat());

/** Splits VTL2_RAM entries by carve-outs (each `Region & {type}`), keeping the other entries. */
export function splitMemoryMap(entries: MemoryEntry[], carve: Array<Region & { type: number }>): MemoryEntry[] {
  const out: MemoryEntry[] = [];
  const cuts = carve.filter((c) => c.size > 0n).sort((a, b) => (a.gpa < b.gpa ? -1 : 1));
  for (const e of entries) {
    if (e.vtlType !== 1) { out.push(e); continue; }
    let at = e.base;
    const end = e.base + e.size;
    for (const c of cuts) {
      if (c.gpa + c.size <= at || c.gpa >= end) continue;
      const s = c.gpa > at ? c.gpa : at;
      const t = c.gpa + c.size < end ? c.gpa + c.size : end;
      if (s > at) out.push({ ...e, base: at, size: s - at });
      out.push({ ...e, base: s, size: t - s, vtlType: c.type });
      at = t;
    }
    if (at < end) out.push({ ...e, base: at, size: end - at });
  }
  return out;
}

// Written straight into the builder, as dt.rs writes its cpus node: 2048 cpu nodes made a tree of
// ~10k objects just to be serialised once.
function writeCpus(b: FdtBuilder, i: KernelDtInputs): void {
  const arm = i.arch === 'aarch64';
  // The string properties repeat on every cpu node: each encoded once.
  const deviceType = [prop.str('device_type', 'cpu')];
  const armProps = arm ? [prop.str('compatible', 'arm,arm-v8'), ...(i.cpus.length > 1 ? [prop.str('enable-method', 'psci')] : [])] : [];
  const okay = [prop.str('status', 'okay')];
  const disabled = [prop.str('status', 'disabled')];
  b.begin('cpus').u32('#address-cells', arm ? 2 : 1).u32('#size-cells', 0);
  i.cpus.forEach((c, vp) => {
    b.begin(`cpu@${vp + 1}`).props(deviceType);
    if (arm) b.u64('reg', c.reg);
    else b.u32('reg', Number(c.reg));
    b.u32('numa-node-id', c.vnode).props(armProps).props(!arm || vp === 0 || i.arm64CpuStatus === 'okay' ? okay : disabled).end();
  });
  b.end();
}

// dt.rs `aarch64`: the GIC Hyper-V places when the host DT has none, and the interrupt cells.
const DEFAULT_GIC = { distributor: 0xffff_0000n, redistributors: 0xeffe_e000n };
const GIC_PPI = 1;
const VMBUS_PPI_OFFSET = 2;
const IRQ_TYPE_EDGE_RISING = 1;
const IRQ_TYPE_LEVEL_HIGH = 4;
const PMU_PPI_INDEX = 0x17 - 16;

// The arm64 nodes write_dt puts between /memory and /bus: GICv3, timer, PMU and SBSA UART.
function arm64Devices(i: KernelDtInputs): FdtNode[] {
  const n = BigInt(i.cpus.length);
  const gic = i.platform.gic ?? {
    ...DEFAULT_GIC, distributorSize: 0x1_0000n, redistributorsSize: 0x2_0000n * n, redistributorStride: 0x2_0000n,
  };
  // write_dt asserts these sizes; a host that breaks them gets a typed error here instead of a panic.
  if (gic.distributorSize !== 0x1_0000n || gic.redistributorsSize !== 0x2_0000n * n || gic.redistributorStride !== 0x2_0000n) {
    throw new HclError('SHIM_HOST_DT_INVALID', `host device tree intc: GICv3 sizes 0x${hx(gic.distributorSize)}/0x${hx(gic.redistributorsSize)}/stride 0x${hx(gic.redistributorStride)} are not 0x10000/0x20000 x ${n} cpus/0x20000`);
  }
  const out: FdtNode[] = [fdtNode(`intc@${gic.distributor.toString(10)}`, [
    prop.str('compatible', 'arm,gic-v3'), prop.u32('#redistributor-regions', 1), prop.u64('redistributor-stride', gic.redistributorStride),
    reg([gic.distributor, gic.distributorSize], [gic.redistributors, gic.redistributorsSize]),
    prop.u32('#address-cells', 2), prop.u32('#size-cells', 2), prop.u32('#interrupt-cells', 3), prop.empty('interrupt-controller'),
    prop.u32('phandle', GIC_PHANDLE), prop.empty('ranges'),
  ])];
  // Model difference (README): qemu virt's four timer PPIs, not write_dt's one "virt" PPI 4, so a
  // stock kernel on qemu gets its tick.
  out.push(fdtNode('timer', [
    prop.str('compatible', 'arm,armv8-timer'),
    prop.u32('interrupts', GIC_PPI, 13, IRQ_TYPE_LEVEL_HIGH, GIC_PPI, 14, IRQ_TYPE_LEVEL_HIGH, GIC_PPI, 11, IRQ_TYPE_LEVEL_HIGH, GIC_PPI, 10, IRQ_TYPE_LEVEL_HIGH),
    prop.empty('always-on'),
  ]));
  out.push(fdtNode('pmu', [prop.str('compatible', 'arm,armv8-pmuv3'), prop.u32('interrupts', GIC_PPI, PMU_PPI_INDEX, IRQ_TYPE_LEVEL_HIGH)]));
  const uart = i.platform.com3;
  if (uart?.kind === 'pl011') {
    out.push(fdtNode(`serial@${hx(uart.base)}`, [
      prop.str('compatible', 'arm,sbsa-uart'), prop.u32('reg', 0, Number(uart.base), 0, 0x1000), prop.u32('interrupt-parent', GIC_PHANDLE),
      prop.u32('interrupts', 0, uart.intid, 4), prop.u32('current-speed', uart.speed), prop.str('status', 'okay'),
    ]));
  }
  return out;
}

// The arm64 nodes after /bus: the model's /distance-map from the host SLIT, then /chosen.
function arm64Chosen(i: KernelDtInputs): FdtNode[] {
  const out: FdtNode[] = [];
  if (i.distances !== undefined && i.distances.length > 1) {
    const cells = i.distances.flatMap((row, a) => row.flatMap((d, b) => [a, b, d]));
    out.push(fdtNode('distance-map', [prop.str('compatible', 'numa-distance-map-v1'), prop.u32('distance-matrix', ...cells)]));
  }
  out.push(fdtNode('chosen', [
    prop.str('bootargs', i.cmdline),
    prop.u64('linux,initrd-start', i.initrd.gpa), prop.u64('linux,initrd-end', i.initrd.gpa + i.initrd.size),
  ]));
  return out;
}

function openhclNode(i: KernelDtInputs): FdtNode {
  const children: FdtNode[] = i.memoryMap.map((m) => fdtNode(`memory@${hx(m.base)}`, [
    prop.str('device_type', 'memory-openhcl'), reg([m.base, m.size]), prop.u32('numa-node-id', m.vnode),
    prop.u32('microsoft,igvm-type', m.igvmType), prop.u32('openhcl,memory-type', m.vtlType),
  ]));
  for (const m of i.mmio) children.push(fdtNode(`memory@${hx(m.base)}`, [prop.str('device_type', 'memory-openhcl'), reg([m.base, m.size]), prop.u32('openhcl,memory-type', m.vtlType)]));
  if (i.entropy !== undefined) children.push(fdtNode('entropy', [prop.bytes('reg', i.entropy)]));
  // vtl2 mode echoes the sizes the host gave (PartitionInfo memory_allocation_mode).
  const sizes = i.allocationMode !== 'vtl2' ? [] : [
    ...(i.platform.vtl2MemorySize !== undefined ? [prop.u64('memory-size', i.platform.vtl2MemorySize)] : []),
    ...(i.platform.vtl2MmioSize !== undefined ? [prop.u64('mmio-size', i.platform.vtl2MmioSize)] : []),
  ];
  return fdtNode('openhcl', [
    prop.str('isolation-type', i.isolation), prop.str('memory-allocation-mode', i.allocationMode), ...sizes,
    ...(i.vtl0AliasMap !== undefined ? [prop.u64('vtl0-alias-map', i.vtl0AliasMap)] : []),
  ], children);
}

/** Builds the kernel DTB (reference §1c); SHIM_LIMIT_EXCEEDED above 256 KiB. */
export function buildKernelDt(i: KernelDtInputs): Uint8Array {
  const arm = i.arch === 'aarch64';
  const vmbus = fdtNode('vmbus', [
    prop.u32('#address-cells', 2), prop.u32('#size-cells', 2), prop.empty('dma-coherent'), prop.str('compatible', 'microsoft,vmbus'),
    prop.u32('microsoft,vtl', 2), prop.u32('microsoft,message-connection-id', i.vmbusVtl2.connectionId),
    prop.u64('ranges', ...i.vmbusVtl2.mmio.flatMap((r) => [r.gpa, r.gpa, r.size])),
    ...(arm ? [prop.u32('interrupt-parent', GIC_PHANDLE), prop.u32('interrupts', GIC_PPI, VMBUS_PPI_OFFSET, IRQ_TYPE_EDGE_RISING)] : []),
  ]);
  const sidecars = i.sidecarNodes.map((s) => fdtNode(`sidecar@${hx(s.controlPage)}`, [
    prop.str('compatible', 'microsoft,openhcl-sidecar'), reg([s.controlPage, 0x1000n], [s.shmemBase, s.shmemSize]), prop.strs('reg-names', ['ctrl', 'shmem']),
  ]));
  // Sized for the largest DTB the shim may hand over, so a 2048-cpu tree is written without growing.
  const b = new FdtBuilder(HEAP_LAYOUT.dtbMax).begin('').props([
    prop.u32('#address-cells', 2), prop.u32('#size-cells', 2), prop.str('compatible', 'microsoft,openvmm'),
    ...(arm ? [prop.u32('interrupt-parent', GIC_PHANDLE)] : []),
  ]);
  b.node(fdtNode('hypervisor', [prop.str('compatible', 'microsoft,hyperv')]));
  writeCpus(b, i);
  for (const n of [
    ...(arm ? [fdtNode('psci', [prop.strs('compatible', ['arm,psci-1.0', 'arm,psci-0.2']), prop.str('method', 'hvc')])] : []),
    ...i.vtl2Ram.map((r) => fdtNode(`memory@${hx(r.gpa)}`, [prop.str('device_type', 'memory'), reg([r.gpa, r.size]), prop.u32('numa-node-id', r.vnode)])),
    ...(arm ? arm64Devices(i) : []),
    fdtNode('bus', [prop.str('compatible', 'simple-bus'), prop.u32('#address-cells', 2), prop.u32('#size-cells', 2), prop.empty('ranges')], [vmbus, ...sidecars]),
    ...(arm ? arm64Chosen(i) : []),
    openhclNode(i),
  ]) b.node(n);
  const bytes = b.end().finish(Number(i.cpus[0]?.reg ?? 0n) >>> 0, i.reservations.filter((r) => r.size > 0n).map((r) => ({ address: r.gpa, size: r.size })));
  if (bytes.length > HEAP_LAYOUT.dtbMax) throw new HclError('SHIM_LIMIT_EXCEEDED', `kernel device tree: ${bytes.length} bytes exceed ${HEAP_LAYOUT.dtbMax}`);
  return bytes;
}
