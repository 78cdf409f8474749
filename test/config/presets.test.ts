import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isHclError } from '../../lib/errors.ts';
import { PRESETS, presetConfig, topologyFromConfig, validateConfig, vtl2MmioCarve, AARCH64_RAM_BASE } from '../../lib/config/index.ts';

const MIB = 0x10_0000;
// Sizes the task asks of each preset.
const SIZES: Record<string, { arch: string; isolation: string; vps: number; nodes: number; sidecar?: string }> = {
  small: { arch: 'x86_64', isolation: 'none', vps: 4, nodes: 1 },
  numa: { arch: 'x86_64', isolation: 'none', vps: 64, nodes: 4, sidecar: 'on' },
  large: { arch: 'x86_64', isolation: 'none', vps: 2048, nodes: 64 },
  'arm64-virt': { arch: 'aarch64', isolation: 'none', vps: 8, nodes: 2 },
  snp: { arch: 'x86_64', isolation: 'snp', vps: 16, nodes: 2 },
};

test('the preset list is exactly the documented one', () => {
  assert.equal([...PRESETS].sort(), Object.keys(SIZES).sort());
});

for (const name of PRESETS) {
  const want = SIZES[name]!;
  test(`preset ${name} validates and has its sizes`, () => {
    const c = validateConfig(presetConfig(name));
    assert.is(c.name, name);
    assert.is(c.arch, want.arch);
    assert.is(c.isolation, want.isolation);
    assert.is(c.vps.length, want.vps);
    assert.is(c.numa.length, want.nodes);
    if (want.sidecar !== undefined) assert.is(c.sidecar, want.sidecar);
    // Every node has VPs, and VPs of one node are contiguous (what the sidecar split expects).
    const firstOf = c.numa.map((_, n) => c.vps.findIndex((vp) => vp.vnode === n));
    assert.ok(firstOf.every((i, n) => i >= 0 && (n === 0 || i > firstOf[n - 1]!)));
    assert.ok(c.devices.nvme.length >= 1 && c.devices.nvme.every((d) => d.ioQueues === Math.min(c.vps.length, 2048)));
    assert.ok(new Set(c.devices.channels.map((ch) => ch.kind)).size >= 2, 'several channel kinds');
    assert.is(c.cmdline.policy, 'append-chosen');
    assert.ok(c.cmdline.static.length > 0 && c.cmdline.host.length > 0);
  });
}

test('presets are deterministic and fresh copies', () => {
  const a = presetConfig('numa');
  assert.equal(a, presetConfig('numa'));
  a.vps[0]!.vnode = 3;
  a.mmio.vtl0[0]!.base = 0;
  a.mmio.vtl0[1]!.size = 0;
  assert.equal(presetConfig('numa'), presetConfig('numa'));
  assert.is(presetConfig('numa').vps[0]!.vnode, 0);
  assert.is.not(presetConfig('numa').mmio.vtl0[0]!.base, 0);
  assert.is.not(presetConfig('numa').mmio.vtl0[1]!.size, 0);
});

test('arm64-virt uses the qemu virt layout and modest RAM', () => {
  const c = presetConfig('arm64-virt');
  assert.equal(c.aarch64, { gicVersion: 3, gicDistributor: 0x0800_0000, gicRedistributor: 0x080a_0000, uart: 0x0900_0000 });
  const ram = c.numa.flatMap((n) => n.memory);
  assert.is(Math.min(...ram.map((r) => r.base)), AARCH64_RAM_BASE);
  assert.is(ram.reduce((n, r) => n + r.size, 0), 512 * MIB);
});

test('PRESET_UNKNOWN lists the names', () => {
  try {
    presetConfig('huge');
    assert.unreachable();
  } catch (e) {
    assert.ok(isHclError(e, 'PRESET_UNKNOWN'));
    assert.match(e.message, 'preset "huge": unknown');
    for (const n of PRESETS) assert.match(e.message, n);
  }
});

const CARVES: Array<[number, number]> = [[64 * 1024 * MIB, 1024 * MIB], [512 * MIB, 256 * MIB], [200 * MIB, 128 * MIB], [0x1000_3000, 0x800_1000]];
for (const [gap, want] of CARVES) test(`vtl2MmioCarve(${gap / MIB} MiB) = ${want / MIB} MiB`, () => assert.is(vtl2MmioCarve(gap), want));

for (const name of PRESETS) {
  test(`topologyFromConfig(${name}) keeps VPs and RAM, carves VTL2 MMIO from the top of vtl0[1]`, () => {
    const c = presetConfig(name);
    const t = topologyFromConfig(c);
    assert.is(t.vps.length, c.vps.length);
    assert.ok(t.vps.every((vp, i) => vp.index === i && vp.reg === c.vps[i]!.reg && vp.vnode === c.vps[i]!.vnode));
    assert.equal(t.nodes.map((n) => n.memory), c.numa.map((n) => n.memory));
    const high = c.mmio.vtl0[1]!;
    assert.is(t.vtl0Mmio[1]!.base, high.base);
    assert.is(t.vtl0Mmio[1]!.size + t.vtl2Mmio[0]!.size, high.size);
    assert.is(t.vtl2Mmio[0]!.base + t.vtl2Mmio[0]!.size, high.base + high.size);
    assert.equal(t.vtl2Ram, [{ base: c.vtl2.base, size: c.vtl2.size, vnode: c.vtl2.vnode }]);
  });
}

test('topologyFromConfig takes host-given VTL2 MMIO as is', () => {
  const c = presetConfig('small');
  c.mmio.vtl2 = [{ base: 0x20_0000_0000, size: 256 * MIB }];
  const t = topologyFromConfig(c);
  assert.equal(t.vtl2Mmio, c.mmio.vtl2);
  assert.equal(t.vtl0Mmio, c.mmio.vtl0);
});

test.run();
