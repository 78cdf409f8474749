import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fdtNode, findNode, findProp, prop, propString, readFdt, type FdtNode } from '../../lib/fdt/index.ts';
import type { HclErrorCode } from '../../lib/errors.ts';
import { runShim } from '../../lib/shim/index.ts';
import { enterSidecar } from '../../lib/sidecar/index.ts';
import { PARAM_REGION_PAGES } from '../../lib/abi/index.ts';
import { bootImage, type HostSpec } from './fixture.ts';
import { expectError } from './expect.ts';

const node = (root: FdtNode, path: string): FdtNode => findNode(root, path)!;
const drop = (root: FdtNode, path: string, name: string): void => {
  const n = node(root, path);
  n.properties = n.properties.filter((p) => p.name !== name);
};
const set = (root: FdtNode, path: string, p: ReturnType<typeof prop.u32>): void => {
  const n = node(root, path);
  n.properties = [...n.properties.filter((q) => q.name !== p.name), p];
};
const bus = '/vmbus-bus/vmbus-vtl0';

const broken: Array<[string, (r: FdtNode) => void, HclErrorCode, string, Partial<HostSpec>?]> = [
  ['no /cpus', (r) => { r.children = r.children.filter((c) => c.name !== 'cpus'); }, 'SHIM_CPUS_INVALID', '/cpus: node missing'],
  ['cpu without status', (r) => drop(r, '/cpus/cpu@1', 'status'), 'SHIM_CPUS_INVALID', '/cpus/cpu@1: missing property status'],
  ['cpu without numa-node-id', (r) => drop(r, '/cpus/cpu@2', 'numa-node-id'), 'SHIM_CPUS_INVALID', '/cpus/cpu@2: missing property numa-node-id'],
  ['cpu reg of wrong width', (r) => set(r, '/cpus/cpu@1', prop.u64('reg', 1n)), 'SHIM_CPUS_INVALID', '/cpus/cpu@1: reg holds 2 values'],
  ['#address-cells 3', (r) => set(r, '/cpus', prop.u32('#address-cells', 3)), 'SHIM_CPUS_INVALID', '#address-cells 3'],
  ['all cpus disabled', (r) => node(r, '/cpus').children.forEach((c) => set(r, `/cpus/${c.name}`, prop.str('status', 'disabled'))), 'SHIM_CPUS_INVALID', 'no enabled cpu'],
  ['unaligned memory', (r) => set(r, '/memory@100000000', prop.u64('reg', 0x1_0000_0100n, 0x1000n)), 'SHIM_MEMORY_INVALID', '/memory@100000000: range 0x100000100+0x1000'],
  ['memory without vnode', (r) => drop(r, '/memory@100000000', 'numa-node-id'), 'SHIM_MEMORY_INVALID', 'missing property numa-node-id'],
  ['overlapping memory', (r) => set(r, '/memory@100000000', prop.u64('reg', 0n, 0x1_0000_0000n)), 'SHIM_MEMORY_INVALID', 'range 0x8000000+0x4000000 overlaps 0x0+0x100000000'],
  ['bad allocation mode', (r) => set(r, '/openhcl', prop.str('memory-allocation-mode', 'guest')), 'SHIM_OPENHCL_NODE_INVALID', '"guest"'],
  ['no allocation mode', (r) => drop(r, '/openhcl', 'memory-allocation-mode'), 'SHIM_OPENHCL_NODE_INVALID', 'missing property memory-allocation-mode'],
  ['vmbus vtl 1', (r) => set(r, bus, prop.u32('microsoft,vtl', 1)), 'SHIM_VMBUS_INVALID', `${bus}: microsoft,vtl 1`],
  ['vmbus without connection id', (r) => drop(r, bus, 'microsoft,message-connection-id'), 'SHIM_VMBUS_INVALID', 'missing property microsoft,message-connection-id'],
  ['vmbus cells 1/1', (r) => set(r, bus, prop.u32('#size-cells', 1)), 'SHIM_VMBUS_INVALID', '2/1 must be 2/2'],
  ['vmbus child != parent', (r) => set(r, bus, prop.u64('ranges', 0xf000_0000n, 0xe000_0000n, 0x1000n)), 'SHIM_VMBUS_INVALID', 'differs from parent'],
  ['vmbus three ranges', (r) => set(r, bus, prop.u64('ranges', ...[0n, 0n, 0x1000n, 0x1000n, 0x1000n, 0x1000n, 0x2000n, 0x2000n, 0x1000n])), 'SHIM_VMBUS_INVALID', '3 ranges'],
  ['no vtl2 vmbus', (r) => { node(r, '/vmbus-bus').children.pop(); }, 'SHIM_VMBUS_INVALID', 'no vmbus node for vtl 2'],
  ['vmbus mmio overlaps ram', (r) => set(r, bus, prop.u64('ranges', 0x1_0000_0000n, 0x1_0000_0000n, 0x1000n)), 'SHIM_MMIO_INVALID', 'overlaps ram'],
  ['vtl0 and vtl2 mmio overlap', () => undefined, 'SHIM_MMIO_INVALID', 'overlaps vtl 2 mmio', { vtl2Mmio: [[0xf000_0000n, 0x1000n]] }],
  ['carve leaves vtl0 one range', () => undefined, 'SHIM_MMIO_INVALID', 'leaves vtl0 one range', { mode: 'vtl2', vtl2Mmio: [], vtl0Mmio: [[0xf000_0000n, 0x100_0000n], [0x10_0000_0000n, 0x800_0000n]] }],
  ['host bootargs too long', (r) => set(r, '/chosen', prop.str('bootargs', 'x'.repeat(0x2001))), 'SHIM_CMDLINE_TOO_LONG', 'bootargs of 8193 bytes'],
  ['too many cpus', () => undefined, 'SHIM_LIMIT_EXCEEDED', 'more than 2048 cpus', { vnodes: Array<number>(2049).fill(0) }],
  ['no vtl2 ram entry covering the image', (r) => { r.children = r.children.filter((c) => c.name !== 'memory@8000000'); set(r, '/memory@100000000', prop.u32('microsoft,igvm-type', 3)); }, 'SHIM_VTL2_MEMORY_INVALID', 'is not inside vtl2 ram'],
];
for (const [name, edit, code, text, spec] of broken) {
  test(`host DT: ${name} → ${code}`, () => {
    const { memory, layout } = bootImage(spec ?? {}, edit);
    expectError(() => runShim(memory, layout.shim.gpa, { enterSidecar }), code, text);
  });
}

// Checks the real parser (openhcl/host_fdt_parser ParsedDeviceTree::parse) does not make: the
// model accepts and records a warning, or reads what the parser reads.
const lenient: Array<[string, (r: FdtNode) => void, (h: ReturnType<typeof runShim>) => void]> = [
  ['duplicate APIC ID is a warning', (r) => set(r, '/cpus/cpu@1', prop.u32('reg', 0)), (h) => assert.ok(h.log.includes('host device tree: /cpus/cpu@1: reg 0x0 is used by an earlier cpu'))],
  ['boot_cpuid_phys on a disabled cpu is a warning', (r) => set(r, '/cpus/cpu@0', prop.str('status', 'fail')), (h) => assert.ok(h.log.includes('host device tree: boot_cpuid_phys 0x0 is not an enabled cpu'))],
  ['igvm-type above 3 is a warning', (r) => set(r, '/memory@100000000', prop.u32('microsoft,igvm-type', 9)), (h) => assert.ok(h.log.includes('host device tree: /memory@100000000: microsoft,igvm-type 9 is not a type the shim knows'))],
  // No /openhcl leaves MemoryAllocationMode's default, Host.
  ['no /openhcl means host allocation mode', (r) => { r.children = r.children.filter((c) => c.name !== 'openhcl'); }, (h) => assert.is(propString(readFdt(h.dtb).root.children.find((c) => c.name === 'openhcl')!, 'memory-allocation-mode'), 'host')],
  // MAX_ENTROPY_SIZE is 256: longer entropy is truncated with a warning.
  ['entropy over 256 bytes is truncated', (r) => set(r, '/openhcl/entropy', prop.bytes('reg', Uint8Array.from({ length: 300 }, (_, i) => i % 251))), (h) => {
    assert.equal([...findProp(findNode(readFdt(h.dtb).root, '/openhcl/entropy')!, 'reg')!.value], Array.from({ length: 256 }, (_, i) => i % 251));
    assert.ok(h.log.includes('host device tree: /openhcl/entropy: 300 bytes truncated to 256'));
  }],
  // device-dma/total-pages and keep-alive/device-types are optional hints.
  ['device-dma without total-pages is accepted', (r) => { findNode(r, '/openhcl')!.children.push(fdtNode('device-dma', [])); }, (h) => assert.ok(h.cmdline.includes('OPENHCL_NVME_KEEP_ALIVE=nohost,'))],
];
for (const [name, edit, check] of lenient) {
  test(`host DT: ${name}`, () => {
    const { memory, layout } = bootImage({}, edit);
    check(runShim(memory, layout.shim.gpa, { enterSidecar }));
  });
}

test('host DT: disabled cpus are skipped, VP index is position among enabled', () => {
  const { memory, layout } = bootImage({ vnodes: [0, 0, 1, 1] }, (r) => set(r, '/cpus/cpu@1', prop.str('status', 'disabled')));
  const t = runShim(memory, layout.shim.gpa, { enterSidecar }).topology;
  assert.equal(t.vps, [{ index: 0, reg: 0, vnode: 0 }, { index: 1, reg: 2, vnode: 1 }, { index: 2, reg: 3, vnode: 1 }]);
});

test('host DT: bytes that are not a DTB → SHIM_HOST_DT_INVALID with the FDT cause', () => {
  const { memory, layout } = bootImage();
  memory.write(layout.paramRegion.gpa + BigInt(PARAM_REGION_PAGES.deviceTree.first * 4096), Uint8Array.of(1, 2, 3, 4));
  expectError(() => runShim(memory, layout.shim.gpa, { enterSidecar }), 'SHIM_HOST_DT_INVALID', 'fdt header: bad magic');
});

test.run();
