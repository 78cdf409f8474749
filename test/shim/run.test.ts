import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFdt, findNode, prop, propString, propU32, propCells, type FdtNode } from '../../lib/fdt/index.ts';
import { expectError } from './expect.ts';
import { runShim } from '../../lib/shim/index.ts';
import { enterSidecar } from '../../lib/sidecar/index.ts';
import { readHandoff } from '../../lib/abi/index.ts';
import { bootImage } from './fixture.ts';

test('runShim: fresh boot of 4 VPs on one vnode, handoff points at the DTB and command line it wrote', () => {
  const { memory, layout } = bootImage({ bootargs: 'foo=1' });
  const r = runShim(memory, layout.shim.gpa, { enterSidecar });
  assert.is(r.restored, false);
  const h = readHandoff(memory, r.handoffGpa);
  assert.equal(memory.read(h.dtbGpa, h.dtbSize), r.dtb);
  assert.is(new TextDecoder().decode(memory.read(h.cmdlineGpa, h.cmdlineSize)), r.cmdline);
  assert.is(h.initrdGpa, layout.initrd.gpa);
  assert.ok(r.cmdline.endsWith(' foo=1'));
  assert.equal(r.topology.vps.map((v) => v.vnode), [0, 0, 0, 0]);
  assert.equal(r.topology.vtl2Ram, [{ base: Number(layout.vtl2.gpa), size: Number(layout.vtl2.size), vnode: 0 }]);
  // 4 CPUs in one run: one sidecar node of 4, VP 0 boots Linux.
  assert.equal(r.bootCpus, [0]);
  assert.ok(r.cmdline.includes(' boot_cpus=0 '));
  const dt = readFdt(r.dtb);
  const sc = findNode(dt.root, '/bus')!.children.filter((c) => c.name.startsWith('sidecar@'));
  assert.is(sc.length, 1);
  assert.is(propU32(findNode(dt.root, '/bus/vmbus')!, 'microsoft,message-connection-id'), 0x800074);
  // Host mode, not isolated: the host's VMBus MMIO as given (topology_from_host_dt).
  assert.equal(r.topology.vtl2Mmio, [{ base: 0x10_4000_0000, size: 0x800_0000 }]);
  assert.equal(r.topology.vtl0Mmio[1], { base: 0x10_0000_0000, size: 0x4000_0000 });
  assert.equal([...propCells(findNode(dt.root, '/openhcl/entropy')!, 'reg', 1)!], [0x01020304n]);
  assert.is(propString(findNode(dt.root, '/openhcl')!, 'memory-allocation-mode'), 'host');
  assert.equal(propCells(findNode(dt.root, `/memory@${layout.vtl2.gpa.toString(16)}`)!, 'reg', 2), [layout.vtl2.gpa, layout.vtl2.size]);
});

test('runShim: aarch64 writes every CPU status okay by default, "disabled" for VP>0 in OpenHCL mode', () => {
  const { memory, layout } = bootImage({ arch: 'aarch64', vnodes: [0, 0, 1, 1] });
  for (const [mode, want] of [['okay', ['okay', 'okay', 'okay', 'okay']], ['openhcl', ['okay', 'disabled', 'disabled', 'disabled']]] as const) {
    const r = runShim(memory, layout.shim.gpa, { enterSidecar, arch: 'aarch64', arm64CpuStatus: mode });
    const cpus = findNode(readFdt(r.dtb).root, '/cpus')!.children;
    assert.equal(cpus.map((c) => propString(c, 'status')), [...want]);
    assert.equal(cpus.map((c) => c.name), ['cpu@1', 'cpu@2', 'cpu@3', 'cpu@4']);
    assert.equal(r.bootCpus, [0, 1, 2, 3]);
    assert.ok(r.cmdline.includes(' console=ttyAMA0,115200 '));
  }
});

// host_params/dt topology_from_host_dt + mmio.rs select_vtl2_mmio_range: the carve happens only
// when isolated or in vtl2 mode; its size is max(mmio-size, clamp(high gap / 2, 128 MiB, 1 GiB))
// when the host gives no VTL2 range, cut from the top of the last VTL0 range at or above 4 GiB.
const MIB = 0x10_0000;
const mmioCases: Array<[string, Parameters<typeof bootImage>[0], ((root: FdtNode) => void) | undefined, { vtl0: Array<{ base: number; size: number }>; vtl2: Array<{ base: number; size: number }> }]> = [
  ['host mode without VTL2 MMIO: none, nothing carved', { vtl2Mmio: [] }, undefined,
    { vtl0: [{ base: 0xf000_0000, size: 128 * MIB }, { base: 0x10_0000_0000, size: 1024 * MIB }], vtl2: [] }],
  ['vtl2 mode: half of the 1 GiB gap off its top', { vtl2Mmio: [], mode: 'vtl2' }, undefined,
    { vtl0: [{ base: 0xf000_0000, size: 128 * MIB }, { base: 0x10_0000_0000, size: 512 * MIB }], vtl2: [{ base: 0x10_2000_0000, size: 512 * MIB }] }],
  ['vtl2 mode: a larger mmio-size wins over the default', { vtl2Mmio: [], mode: 'vtl2' }, (r) => findNode(r, '/openhcl')!.properties.push(prop.u64('mmio-size', 768n * 0x10_0000n)),
    { vtl0: [{ base: 0xf000_0000, size: 128 * MIB }, { base: 0x10_0000_0000, size: 256 * MIB }], vtl2: [{ base: 0x10_1000_0000, size: 768 * MIB }] }],
  ['isolated (SNP) host mode: the default, at least 128 MiB', { vtl2Mmio: [], isolation: 'snp', vtl0Mmio: [[0xf000_0000n, 0x800_0000n], [0x10_0000_0000n, 0x1000_0000n]] }, undefined,
    { vtl0: [{ base: 0xf000_0000, size: 128 * MIB }, { base: 0x10_0000_0000, size: 128 * MIB }], vtl2: [{ base: 0x10_0800_0000, size: 128 * MIB }] }],
  ['vtl2 mode: a host VTL2 range is used when it holds mmio-size', { mode: 'vtl2' }, undefined,
    { vtl0: [{ base: 0xf000_0000, size: 128 * MIB }, { base: 0x10_0000_0000, size: 1024 * MIB }], vtl2: [{ base: 0x10_4000_0000, size: 128 * MIB }] }],
];
for (const [name, spec, edit, want] of mmioCases) {
  test(`MMIO: ${name}`, () => {
    const { memory, layout } = bootImage(spec, edit);
    const t = runShim(memory, layout.shim.gpa, { enterSidecar }).topology;
    assert.equal({ vtl0: t.vtl0Mmio, vtl2: t.vtl2Mmio }, want);
  });
}

test('MMIO: a host VTL2 range smaller than mmio-size is SHIM_MMIO_INVALID', () => {
  const { memory, layout } = bootImage({ mode: 'vtl2' }, (r) => findNode(r, '/openhcl')!.properties.push(prop.u64('mmio-size', 0x1000_0000n)));
  expectError(() => runShim(memory, layout.shim.gpa, { enterSidecar }), 'SHIM_MMIO_INVALID', 'less than mmio-size 0x10000000');
});

test('MMIO: no VTL0 range at or above 4 GiB to carve from is SHIM_MMIO_INVALID', () => {
  const { memory, layout } = bootImage({ mode: 'vtl2', vtl2Mmio: [], vtl0Mmio: [[0xc000_0000n, 0x800_0000n], [0xe000_0000n, 0x1000_0000n]] });
  expectError(() => runShim(memory, layout.shim.gpa, { enterSidecar }), 'SHIM_MMIO_INVALID', 'no vtl0 range at or above 4 GiB');
});

test.run();
