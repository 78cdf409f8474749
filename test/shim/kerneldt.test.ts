import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findNode, prop, propCells, propString, propStrings, propU32, readFdt, type FdtNode } from '../../lib/fdt/index.ts';
import { MEMORY_VTL_TYPE, runShim } from '../../lib/shim/index.ts';
import { enterSidecar } from '../../lib/sidecar/index.ts';
import { bootImage } from './fixture.ts';
import { PARAM_REGION_PAGES } from '../../lib/abi/index.ts';
import { presetConfig } from '../../lib/config/index.ts';
import { boot } from '../../harness/pipeline.ts';

const names = (n: FdtNode | undefined): string[] => (n?.children ?? []).map((c) => c.name);

function dtc(dtb: Uint8Array): string {
  const f = join(mkdtempSync(join(tmpdir(), 'hcl-dt-')), 'k.dtb');
  writeFileSync(f, dtb);
  const r = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', f], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  // OpenHCL's own format (dt.rs write_dt): /openhcl has no #address-cells/#size-cells, so dtc reads
  // its 2/2 children with the default 2/1; /openhcl/entropy holds raw bytes in reg; /bus/vmbus has
  // no unit address; the SBSA UART's reg is 4 u32 cells.
  const known = /\/openhcl|\/bus\/vmbus|Failed prerequisite/;
  const other = r.stderr.split('\n').filter((l) => l.includes('Warning') && !known.test(l));
  assert.equal(other, []);
  return r.stdout;
}

test('x86_64 kernel DTB: root, cpus, memory, bus, openhcl map; dtc decompiles it', () => {
  const { memory, layout } = bootImage({ vnodes: [0, 0, 1, 1] });
  const r = runShim(memory, layout.shim.gpa, { enterSidecar });
  const dt = readFdt(r.dtb);
  assert.equal(propStrings(dt.root, 'compatible'), ['microsoft,openvmm']);
  assert.equal(names(dt.root).slice(0, 4), ['hypervisor', 'cpus', `memory@${layout.vtl2.gpa.toString(16)}`, 'bus']);
  const cpus = findNode(dt.root, '/cpus')!;
  assert.is(propU32(cpus, '#address-cells'), 1);
  assert.equal(cpus.children.map((c) => [c.name, propU32(c, 'reg'), propU32(c, 'numa-node-id'), propString(c, 'status')]),
    [['cpu@1', 0, 0, 'okay'], ['cpu@2', 1, 0, 'okay'], ['cpu@3', 2, 1, 'okay'], ['cpu@4', 3, 1, 'okay']]);
  assert.equal(names(findNode(dt.root, '/bus')), ['vmbus', ...r.sidecar!.output.nodes.map((n) => `sidecar@${n.controlPage.toString(16)}`)]);
  const oh = findNode(dt.root, '/openhcl')!;
  assert.is(propString(oh, 'isolation-type'), 'none');
  const types = oh.children.filter((c) => c.name.startsWith('memory@')).map((c) => propU32(c, 'openhcl,memory-type'));
  for (const t of [MEMORY_VTL_TYPE.VTL0, MEMORY_VTL_TYPE.VTL2_RAM, MEMORY_VTL_TYPE.VTL2_CONFIG, MEMORY_VTL_TYPE.VTL2_PERSISTED_STATE_HEADER, MEMORY_VTL_TYPE.VTL2_SIDECAR_NODE, MEMORY_VTL_TYPE.VTL0_MMIO, MEMORY_VTL_TYPE.VTL2_MMIO]) {
    assert.ok(types.includes(t), `memory type ${t} present`);
  }
  // The VTL2 split covers exactly the VTL2 range.
  const mmioTypes: number[] = [MEMORY_VTL_TYPE.VTL0, MEMORY_VTL_TYPE.VTL0_MMIO, MEMORY_VTL_TYPE.VTL2_MMIO];
  const vtl2 = oh.children.filter((c) => propString(c, 'device_type') === 'memory-openhcl' && !mmioTypes.includes(propU32(c, 'openhcl,memory-type') ?? 0));
  const total = vtl2.reduce((s, c) => s + propCells(c, 'reg', 2)![1]!, 0n);
  assert.is(total, layout.vtl2.size);
  assert.ok(dt.reservations.some((x) => x.address === layout.paramRegion.gpa));
  const dts = dtc(r.dtb);
  assert.match(dts, /compatible = "microsoft,openvmm";/);
  assert.match(dts, /cpu@4 \{/);
});

// dt.rs write_dt, aarch64: GICv3 node named intc@{} in decimal with #redistributor-regions 1,
// stride and the four reg values; VMBus interrupts <GIC_PPI VMBUS_PPI_OFFSET IRQ_TYPE_EDGE_RISING>
// = <1 2 1>; the COM3 node "arm,sbsa-uart" with u32 reg <0 base 0 0x1000> and interrupts <0 intid 4>.
test('aarch64 kernel DTB: psci, GICv3 named in decimal, VMBus interrupts, SBSA UART, distance-map, chosen; dtc decompiles it', () => {
  const distances = [[10, 21], [21, 10]];
  const { memory, layout } = bootImage({ arch: 'aarch64', vnodes: [0, 0, 1, 1], distances, staticLine: 'panic=-1', vtl2Base: 0x4800_0000n });
  const r = runShim(memory, layout.shim.gpa, { enterSidecar, arch: 'aarch64' });
  const dt = readFdt(r.dtb);
  assert.equal(propStrings(findNode(dt.root, '/psci')!, 'compatible'), ['arm,psci-1.0', 'arm,psci-0.2']);
  assert.is(propString(findNode(dt.root, '/psci')!, 'method'), 'hvc');
  const gic = findNode(dt.root, '/intc@134217728')!;
  assert.equal(propCells(gic, 'reg', 2), [0x800_0000n, 0x1_0000n, 0x80a_0000n, 4n * 0x2_0000n]);
  assert.equal([propU32(gic, '#redistributor-regions'), propCells(gic, 'redistributor-stride', 2)], [1, [0x2_0000n]]);
  assert.is(propU32(dt.root, 'interrupt-parent'), propU32(gic, 'phandle'));
  assert.equal(propCells(findNode(dt.root, '/bus/vmbus')!, 'interrupts', 1), [1n, 2n, 1n]);
  assert.ok(findNode(dt.root, '/timer') !== undefined);
  const uart = findNode(dt.root, '/serial@9000000')!;
  assert.equal(propStrings(uart, 'compatible'), ['arm,sbsa-uart']);
  assert.equal(propCells(uart, 'reg', 1), [0n, 0x900_0000n, 0n, 0x1000n]);
  assert.equal(propCells(uart, 'interrupts', 1), [0n, 1n, 4n]);
  assert.equal(propCells(findNode(dt.root, '/distance-map')!, 'distance-matrix', 1)!.map(Number), [0, 0, 10, 0, 1, 21, 1, 0, 21, 1, 1, 10]);
  const chosen = findNode(dt.root, '/chosen')!;
  assert.is(propString(chosen, 'bootargs'), r.cmdline);
  assert.ok(r.cmdline.endsWith(' panic=-1 '));
  assert.ok(r.cmdline.includes(' console=ttyAMA0,115200 '));
  assert.equal(propCells(chosen, 'linux,initrd-start', 2), [layout.initrd.gpa]);
  const cpus = findNode(dt.root, '/cpus')!;
  assert.is(propU32(cpus, '#address-cells'), 2);
  assert.equal(cpus.children.map((c) => propString(c, 'enable-method')), ['psci', 'psci', 'psci', 'psci']);
  assert.is(r.sidecar, undefined);
  assert.match(dtc(r.dtb), /distance-matrix = </);
});

// dt.rs write_dt: /openhcl carries isolation-type, memory-allocation-mode and, in vtl2 mode, the
// host's memory-size/mmio-size, and no #address-cells/#size-cells.
test('kernel DTB /openhcl: no cells; vtl2 mode echoes memory-size and mmio-size', () => {
  const { memory, layout } = bootImage({ mode: 'vtl2' }, (root) => {
    findNode(root, '/openhcl')!.properties.push(prop.u64('memory-size', 0x400_0000n), prop.u64('mmio-size', 0x800_0000n));
  });
  const oh = findNode(readFdt(runShim(memory, layout.shim.gpa, { enterSidecar }).dtb).root, '/openhcl')!;
  assert.equal(oh.properties.map((p) => p.name), ['isolation-type', 'memory-allocation-mode', 'memory-size', 'mmio-size']);
  assert.equal([propCells(oh, 'memory-size', 2), propCells(oh, 'mmio-size', 2)], [[0x400_0000n], [0x800_0000n]]);
});

// The /openhcl memory map entries of one type, as [base, size].
function entries(dtb: Uint8Array, type: number): Array<[bigint, bigint]> {
  return findNode(readFdt(dtb).root, '/openhcl')!.children
    .filter((c) => c.name.startsWith('memory@') && propU32(c, 'openhcl,memory-type') === type)
    .map((c) => propCells(c, 'reg', 2) as [bigint, bigint]);
}

// host_params/dt topology_from_host_dt: VTL2_CONFIG is subtract_ranges(parameter region, host DT
// pages); the host DT pages are reclaimed as VTL2 RAM.
test('kernel DTB: VTL2_CONFIG is the parameter region minus the host-DT pages, which are VTL2 RAM', () => {
  const { memory, layout } = bootImage();
  const r = runShim(memory, layout.shim.gpa, { enterSidecar });
  const dt = { gpa: layout.paramRegion.gpa + BigInt(PARAM_REGION_PAGES.deviceTree.first * 4096), size: BigInt(PARAM_REGION_PAGES.deviceTree.count * 4096) };
  const config = entries(r.dtb, MEMORY_VTL_TYPE.VTL2_CONFIG);
  const end = layout.paramRegion.gpa + layout.paramRegion.size;
  assert.ok(config.some(([b, n]) => b === layout.paramRegion.gpa && b + n === dt.gpa), 'config below the host DT');
  assert.ok(config.some(([b, n]) => b === dt.gpa + dt.size && b + n === end), 'config above the host DT');
  assert.not.ok(config.some(([b, n]) => b < dt.gpa + dt.size && dt.gpa < b + n), 'no config entry over the host DT pages');
  assert.ok(entries(r.dtb, MEMORY_VTL_TYPE.VTL2_RAM).some(([b, n]) => b <= dt.gpa && dt.gpa + dt.size <= b + n), 'host DT pages are VTL2 RAM');
});

// The numa preset has 4 sidecar nodes (one per vnode of 16 VPs): each must appear as its own
// VTL2_SIDECAR_NODE entry at the node's memory, however the carve-outs are ordered.
test('kernel DTB of the numa preset: one VTL2_SIDECAR_NODE entry per sidecar node', () => {
  const vm = boot(presetConfig('numa'));
  const nodes = vm.shim.sidecar!.nodes.map((n) => [n.memory.gpa, n.memory.size]);
  assert.is(nodes.length, 4);
  const got = entries(vm.shim.dtb, MEMORY_VTL_TYPE.VTL2_SIDECAR_NODE).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  assert.equal(got, nodes.sort((a, b) => (a[0]! < b[0]! ? -1 : 1)));
});

test.run();
