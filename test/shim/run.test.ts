import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFdt, findNode, propString, propU32, propCells } from '../../lib/fdt/index.ts';
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
  // VTL2 MMIO carved: half of the 1 GiB high gap = 512 MiB off its top.
  assert.equal(r.topology.vtl2Mmio, [{ base: 0x10_2000_0000, size: 0x2000_0000 }]);
  assert.equal(r.topology.vtl0Mmio[1], { base: 0x10_0000_0000, size: 0x2000_0000 });
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

test.run();
