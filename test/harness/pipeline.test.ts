import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { PRESETS, presetConfig, topologyFromConfig } from '../../lib/config/index.ts';
import { compareTopology } from '../../lib/hcl/index.ts';
import { readFdt, findNode, propU32 } from '../../lib/fdt/index.ts';
import { boot, onlineSidecarCpu } from '../../harness/pipeline.ts';
import { parseCpuList } from '../../lib/kernel/index.ts';
import { isHclError } from '../../lib/errors.ts';
import { bootReport } from '../../harness/view/vmview.ts';

for (const name of PRESETS) {
  test(`${name}: openvmm_hcl discovers exactly the config's topology through every stage`, () => {
    const config = presetConfig(name);
    const vm = boot(config);
    assert.equal(compareTopology(topologyFromConfig(config), vm.discovered.topology), []);
    assert.equal(vm.stages.map((s) => s.name), ['host', 'loader', 'shim', 'kernel', 'hcl']);
    // The kernel DTB the shim wrote is what /sys/firmware/fdt shows, and it decompiles with dtc.
    assert.equal([...vm.kernel.procfs.read('/sys/firmware/fdt')], [...vm.shim.dtb]);
    const dtc = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', '-q', '-o', '/dev/null', '-'], { input: vm.shim.dtb });
    assert.is(dtc.status, 0, dtc.stderr.toString());
    // cpu@{vp+1} in VP order with the config's vnode.
    const fdt = readFdt(vm.shim.dtb);
    config.vps.slice(0, 8).forEach((vp, i) => {
      const node = findNode(fdt.root, `/cpus/cpu@${i + 1}`);
      assert.ok(node, `cpu@${i + 1}`);
      assert.is(propU32(node!, 'numa-node-id'), vp.vnode);
    });
  });
}

test('numa: sidecar splits each 16-VP vnode run into one node whose base VP boots Linux', () => {
  const vm = boot(presetConfig('numa'));
  const r = bootReport(vm);
  const bases = [...new Set(presetConfig('numa').vps.map((v) => v.vnode))].map((n) => presetConfig('numa').vps.findIndex((v) => v.vnode === n));
  assert.equal(r.bootCpus, bases);
  assert.match(r.cmdline, new RegExp(`boot_cpus=${bases.join(',')}( |$)`));
  // The report's sidecar VPs come from Linux's online set; the sidecar's own control pages must agree:
  // a VP started in sidecar is IDLE there, a Linux VP REMOVED (openvmm
  // openhcl/sidecar/src/arch/x86_64/init.rs, `init`: a node's base CPU REMOVED, the rest started).
  const statuses = presetConfig('numa').vps.map((_, vp) => vm.sidecar?.status(vp));
  assert.equal(r.sidecarVps, statuses.flatMap((s, vp) => (s === 'IDLE' ? [vp] : [])));
  assert.equal(r.bootCpus, statuses.flatMap((s, vp) => (s === 'REMOVED' ? [vp] : [])));
  assert.is(r.sidecarVps.length, 64 - bases.length);
  for (const v of vm.units.partition.save().vps) assert.is(vm.units.partition.vpState(v.vpIndex).vp.role, r.bootCpus.includes(v.vpIndex) ? 'linux' : 'sidecar');
});

test('a sidecar CPU handed to Linux: REMOVED in its control page, online in the kernel, a linux vp', () => {
  const vm = boot(presetConfig('numa'));
  assert.not.ok(vm.kernel.online().includes(5));
  onlineSidecarCpu(vm, 5);
  assert.is(vm.sidecar?.status(5), 'REMOVED');
  assert.ok(vm.kernel.online().includes(5));
  assert.equal(parseCpuList(new TextDecoder().decode(vm.kernel.procfs.read('/sys/devices/system/cpu/online')).trim()), vm.kernel.online());
  assert.is(vm.units.partition.vpState(5).vp.role, 'linux');
  assert.throws(() => onlineSidecarCpu(vm, 5), (e: unknown) => isHclError(e, 'SIDECAR_BAD_STATE'));
  assert.throws(() => onlineSidecarCpu(boot(presetConfig('arm64-virt')), 1), (e: unknown) => isHclError(e, 'SIDECAR_BAD_STATE'));
});

test('the running usermode is the one the initrd carries', () => {
  const vm = boot(presetConfig('small'), { usermodeVersion: '9.9.9' });
  assert.is(vm.usermodeVersion, '9.9.9');
});

test.run();
