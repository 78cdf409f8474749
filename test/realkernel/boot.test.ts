// Boots the real Debian arm64 kernel under qemu; runs only with HCLCKPT_REAL_KERNEL=1 after
// `hclckpt kernel setup` (2-7 s per boot on an idle 2-core host, 7 boots).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkVm, formatDifferences, overlayProcFs, runCheck } from '../../harness/realkernel/index.ts';
import { loadConfig, presetConfig } from '../../lib/config/index.ts';
import { boot } from '../../harness/pipeline.ts';
import { dumpQemuDtb } from '../../harness/realkernel/qemu.ts';
import { requireAssets } from '../../harness/realkernel/setup.ts';
import { FIXTURE_SHAPE, fixtureDtb, handModel } from './fixture.ts';

if (process.env['HCLCKPT_REAL_KERNEL'] === '1') {
  const assets = requireAssets();
  const dtb = fixtureDtb();

  test('the fixture DTB boots and the real kernel agrees with the hand-built model', async () => {
    const r = await runCheck({ dtb, spec: FIXTURE_SHAPE, model: handModel(dtb), assets });
    process.stderr.write(`  real kernel boot: ${r.bootMs} ms\n`);
    assert.equal(r.differences, [], formatDifferences(r.differences));
  });

  test('/sys/firmware/fdt is byte for byte the blob qemu dumps for the same machine', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hclckpt-boot-'));
    try {
      const path = join(dir, 'x.dtb');
      writeFileSync(path, dtb);
      const dumped = await dumpQemuDtb({ ...FIXTURE_SHAPE, kernel: assets.kernel, initrd: assets.initrd, dtb: path });
      const r = await runCheck({ dtb, spec: FIXTURE_SHAPE, assets });
      assert.equal(r.differences, [], formatDifferences(r.differences));
      assert.equal(r.report.fdt, dumped);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('fewer qemu cpus than DTB cpus: the kernel brings up only those and the check says so', async () => {
    const spec = { ...FIXTURE_SHAPE, cpus: 4, nodes: [{ cpus: [0, 1], memBytes: 256 * 2 ** 20 }, { cpus: [2, 3], memBytes: 256 * 2 ** 20 }] };
    const r = await runCheck({ dtb, spec, model: handModel(dtb), assets });
    const online = r.differences.find((d) => d.path === '/sys/devices/system/cpu/online');
    assert.equal(online, { path: '/sys/devices/system/cpu/online', model: '0-7\n', real: '0-3\n' }, formatDifferences(r.differences));
    assert.match(r.report.kernelLog, 'failed to boot CPU4');
  });

  // The CI topologies through the whole pipeline: the shim's kernel DTB on Linux vs the model.
  const ci = [
    { name: '1 node / 1 VP', config: () => loadConfig('test/realkernel/configs/virt-1node-1vp.json') },
    { name: '2 nodes / 8 VPs (arm64-virt)', config: async () => presetConfig('arm64-virt') },
    { name: '4 nodes / 16 VPs', config: () => loadConfig('test/realkernel/configs/virt-4node-16vp.json') },
  ];
  for (const c of ci) {
    test(`pipeline ${c.name}: the real kernel agrees with the model`, async () => {
      const r = await checkVm(boot(await c.config()), { assets });
      process.stderr.write(`  ${c.name}: ${r.bootMs} ms\n`);
      assert.equal(r.differences, [], formatDifferences(r.differences));
    });
  }

  test('a cpulist planted through the perturb seam fails the real check, model vs real', async () => {
    const vm = boot(await loadConfig('test/realkernel/configs/virt-1node-1vp.json'));
    const path = '/sys/devices/system/node/node0/cpulist';
    const r = await checkVm(vm, { assets, perturb: (fs) => overlayProcFs(fs, { [path]: '0-1\n' }) });
    assert.equal(r.differences, [{ path, model: '0-1\n', real: '0\n' }], formatDifferences(r.differences));
  });
}

test.run();
