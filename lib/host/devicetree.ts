import { HclError } from '../errors.ts';
import { HOST_VTL2_MMIO_SIZE, splitMmio, type VmConfig } from '../config/index.ts';
import { FdtBuilder, fdtNode, prop, readFdt, type Fdt, type FdtNode } from '../fdt/index.ts';
import { IGVM_MEMORY_TYPE } from '../abi/index.ts';

/**
 * The host device tree the VMM hands OpenHCL in the parameter region, laid out the way OpenVMM
 * writes it (openvmm_core worker/vm_loaders/igvm.rs `build_device_tree`): the 16550s as children
 * of an `x86-pio-bus`; on aarch64, which that writer does not cover, the GICv3 and SBSA UART in
 * the form openhcl/host_fdt_parser requires.
 */

/** x86 I/O ports of the 16550 UARTs. */
export const COM_PORTS = { com1: 0x3f8, com2: 0x2f8, com3: 0x3e8, com4: 0x2e8 } as const;
/** ISA IRQs of the 16550 UARTs (COM1/COM3 share 4, COM2/COM4 share 3). */
const COM_IRQS = { com1: 4, com2: 3, com3: 4, com4: 3 } as const;
/** GICv3 frame sizes (aarch64defs GIC_DISTRIBUTOR_SIZE, GIC_REDISTRIBUTOR_SIZE). */
export const GICV3 = { distributorSize: 0x1_0000, redistributorSize: 0x2_0000 } as const;
/** The SPI of the PL011 on qemu virt, which the arm64 presets model. */
const UART_SPI = 1;
/** Linux pages one NVMe queue entry of 64 bytes takes, used to size `device-dma`. */
const SQE_BYTES = 64;

const hexName = (base: string, n: number | bigint): string => `${base}@${n.toString(16)}`;
const u64s = (...n: number[]): bigint[] => n.map((x) => BigInt(x));
const pair = (base: number, size: number): Array<readonly [bigint, 2]> => [[BigInt(base), 2], [BigInt(size), 2]];

// Written straight into the builder, as OpenVMM's builder writes it: 2048 cpu nodes as a tree
// were ~10k objects made only to be serialised once.
function writeCpus(b: FdtBuilder, c: VmConfig): void {
  // x86 APIC IDs fit one cell unless x2APIC IDs above 2^32 appear; MPIDRs need two (Aff3).
  const cells: 1 | 2 = c.arch === 'aarch64' || c.vps.some((vp) => vp.reg > 0xffff_ffff) ? 2 : 1;
  // Every cpu node carries the same two string properties: each encoded once.
  const deviceType = [prop.str('device_type', 'cpu')];
  const okay = [prop.str('status', 'okay')];
  b.begin('cpus').u32('#address-cells', cells).u32('#size-cells', 0);
  for (const vp of c.vps) {
    b.begin(hexName('cpu', vp.reg)).props(deviceType);
    if (cells === 1) b.u32('reg', vp.reg);
    else b.u64('reg', BigInt(vp.reg));
    b.u32('numa-node-id', vp.vnode).props(okay).end();
  }
  b.end();
}

function memoryNodes(c: VmConfig): FdtNode[] {
  const nodes = c.numa.map((n, vnode) =>
    fdtNode(hexName('memory', n.memory[0]!.base), [
      prop.str('device_type', 'memory'),
      prop.cells('reg', n.memory.flatMap((r) => pair(r.base, r.size))),
      prop.u32('numa-node-id', vnode),
      prop.u32('microsoft,igvm-type', IGVM_MEMORY_TYPE.MEMORY),
    ]),
  );
  // In host mode the host owns VTL2's placement and says so with a VTL2_PROTECTABLE range.
  if (c.vtl2.mode === 'host') {
    nodes.push(
      fdtNode(hexName('memory', c.vtl2.base), [
        prop.str('device_type', 'memory'),
        prop.cells('reg', pair(c.vtl2.base, c.vtl2.size)),
        prop.u32('numa-node-id', c.vtl2.vnode),
        prop.u32('microsoft,igvm-type', IGVM_MEMORY_TYPE.VTL2_PROTECTABLE),
      ]),
    );
  }
  // Highest address first, as OpenVMM writes them "to require the underhill fdt parser to sort them".
  return nodes.sort((a, b) => parseInt(b.name.slice(7), 16) - parseInt(a.name.slice(7), 16));
}

/** Pages of DMA memory the NVMe queues need (submission + completion per queue pair, plus admin). */
export function nvmeDmaPages(c: VmConfig): number {
  return c.devices.nvme.reduce((n, d) => n + (d.ioQueues + 1) * 2 * Math.ceil((d.queueDepth * SQE_BYTES) / 4096), 0);
}

function openhclNode(c: VmConfig): FdtNode {
  const props = [];
  // As OpenVMM's Vtl2Allocate: memory-size, and mmio-size fixed at 128 MiB.
  if (c.vtl2.mode === 'vtl2') props.push(prop.u64('memory-size', BigInt(c.vtl2.size)), prop.u64('mmio-size', BigInt(HOST_VTL2_MMIO_SIZE)));
  props.push(prop.str('memory-allocation-mode', c.vtl2.mode));
  const children: FdtNode[] = [];
  if (c.entropy.length > 0) children.push(fdtNode('entropy', [prop.bytes('reg', Uint8Array.from(Buffer.from(c.entropy, 'hex')))]));
  if (c.keepAlive.nvme) children.push(fdtNode('keep-alive', [prop.strs('device-types', ['nvme'])]));
  if (c.devices.nvme.length > 0) children.push(fdtNode('device-dma', [prop.u64('total-pages', BigInt(nvmeDmaPages(c)))]));
  return fdtNode('openhcl', props, children);
}

function vmbusNode(vtl: 0 | 2, connectionId: number, mmio: ReadonlyArray<{ base: number; size: number }>): FdtNode {
  // ranges: (child, parent, size) triples with child == parent; empty when the shim carves.
  return fdtNode(mmio.length > 0 ? hexName(`vmbus-vtl${vtl}`, mmio[0]!.base) : `vmbus-vtl${vtl}`, [
    prop.u32('#address-cells', 2),
    prop.u32('#size-cells', 2),
    prop.strs('compatible', ['microsoft,vmbus']),
    prop.u64('ranges', ...mmio.flatMap((r) => u64s(r.base, r.base, r.size))),
    prop.u32('microsoft,vtl', vtl),
    prop.u32('microsoft,message-connection-id', connectionId),
  ]);
}

function platformNodes(c: VmConfig): FdtNode[] {
  if (c.arch === 'x86_64') {
    if (c.devices.serial.length === 0) return [];
    const uarts = c.devices.serial.map((s) =>
      fdtNode(hexName('serial', COM_PORTS[s.port]), [
        prop.strs('compatible', ['ns16550']),
        prop.u32('clock-frequency', 0),
        prop.u32('current-speed', s.baud),
        prop.u64('reg', BigInt(COM_PORTS[s.port]), 8n),
        prop.u64('interrupts', BigInt(COM_IRQS[s.port])),
      ]),
    );
    return [fdtNode('pio-bus', [prop.strs('compatible', ['x86-pio-bus']), prop.u32('#address-cells', 1), prop.u32('#size-cells', 1), prop.empty('ranges')], uarts)];
  }
  const p = c.aarch64!;
  if (p.gicVersion !== 3) throw new HclError('CONFIG_INVALID', `aarch64.gicVersion ${p.gicVersion}: OpenHCL's host device tree describes a GICv3 only`);
  const gic = fdtNode(hexName('intc', p.gicDistributor), [
    prop.strs('compatible', ['arm,gic-v3']),
    prop.u32('#redistributor-regions', 1),
    prop.u64('redistributor-stride', BigInt(GICV3.redistributorSize)),
    prop.u64('reg', ...u64s(p.gicDistributor, GICV3.distributorSize, p.gicRedistributor, GICV3.redistributorSize * c.vps.length)),
    prop.u32('#address-cells', 2),
    prop.u32('#size-cells', 2),
    prop.u32('#interrupt-cells', 3),
    prop.empty('interrupt-controller'),
    prop.empty('ranges'),
  ]);
  // The one SBSA UART plays COM3 (the console port): present only when the config has com3.
  const com3 = c.devices.serial.find((s) => s.port === 'com3');
  const uart = com3 === undefined ? [] : [
    fdtNode(hexName('serial', p.uart), [
      prop.strs('compatible', ['arm,sbsa-uart']),
      prop.u64('reg', BigInt(p.uart), 0x1000n),
      prop.u32('interrupts', 0, UART_SPI, 4),
      prop.u32('current-speed', com3.baud),
    ]),
  ];
  return [gic, ...uart];
}

/** The host device tree of a VmConfig as DTB bytes; boot_cpuid_phys is VP 0's APIC ID / MPIDR. */
export function hostDtb(c: VmConfig): Uint8Array {
  // In host allocation mode the host hands VTL2 its MMIO in the VTL2 VMBus node, as OpenVMM does
  // (its vtl2 chipset range): the config's, or the model host's carve from VTL0's high gap
  // (splitMmio). In vtl2 mode the shim carves when the config gives none.
  const mmio = c.vtl2.mode === 'host' ? splitMmio(c) : { vtl0: c.mmio.vtl0, vtl2: c.mmio.vtl2 ?? [] };
  const bus = fdtNode('bus', [prop.strs('compatible', ['simple-bus']), prop.u32('#address-cells', 2), prop.u32('#size-cells', 2), prop.empty('ranges')], [
    vmbusNode(0, c.vmbus.vtl0ConnectionId, mmio.vtl0),
    vmbusNode(2, c.vmbus.vtl2ConnectionId, mmio.vtl2),
  ]);
  // About 90 bytes a cpu node, 16 KiB for the rest: the builder rarely has to grow.
  const b = new FdtBuilder(16 * 1024 + 96 * c.vps.length).begin('').props([prop.u32('#address-cells', 2), prop.u32('#size-cells', 2), prop.str('model', `hclckpt,${c.name}`)]);
  writeCpus(b, c);
  for (const n of [...memoryNodes(c), bus, ...platformNodes(c), fdtNode('chosen', [prop.str('bootargs', hostBootargs(c))]), openhclNode(c)]) b.node(n);
  return b.end().finish(c.vps[0]!.reg % 0x1_0000_0000, []);
}

/** The host device tree of a VmConfig as a tree (`hostDtb` read back). */
export function buildHostDt(c: VmConfig): Fdt {
  return readFdt(hostDtb(c));
}

/**
 * The host command line as /chosen/bootargs: the config's sidecar mode travels the way a host
 * sets it for OpenHCL, as OPENHCL_SIDECAR= ahead of the user's words (so an explicit value in
 * cmdline.host still wins). It only reaches the shim when the static policy appends the host's line.
 */
export function hostBootargs(c: VmConfig): string {
  return [c.sidecar === 'on' ? '' : `OPENHCL_SIDECAR=${c.sidecar}`, c.cmdline.host].filter((w) => w !== '').join(' ');
}
