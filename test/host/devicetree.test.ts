import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PRESETS, presetConfig, topologyFromConfig } from '../../lib/config/index.ts';
import { readFdt } from '../../lib/fdt/index.ts';
import { hostBootargs, hostDtb, hostPptt, hostSlit, distanceMatrix, PPTT_FLAGS } from '../../lib/host/index.ts';
import { parseHostDt } from '../../lib/shim/hostdt.ts';
import { IGVM_MEMORY_TYPE } from '../../lib/abi/index.ts';
import { decodeSlit } from '../../lib/abi/slit.ts';

const dir = mkdtempSync(join(tmpdir(), 'hclckpt-hostdt-'));
const hasDtc = spawnSync('dtc', ['--version']).status === 0;
// Warnings inherent to OpenHCL's own host device tree format: /openhcl/entropy carries raw bytes
// in `reg` without a unit address, and the VTL2 VMBus node has no ranges when the shim carves them.
const ALLOWED = [/\/openhcl\/entropy: node has a reg or ranges property, but no unit name/, /\/bus\/vmbus-vtl2: missing or empty reg\/ranges property/];

for (const name of PRESETS) {
  test(`host DT of ${name} parses back through the shim's host_fdt_parser rules to the config`, () => {
    const c = presetConfig(name);
    const h = parseHostDt(readFdt(hostDtb(c)));
    assert.equal(h.cpus.map((x) => [Number(x.reg), x.vnode]), c.vps.map((vp) => [vp.reg, vp.vnode]));
    assert.is(h.bootCpuidPhys, c.vps[0]!.reg);
    const ram = h.memory.filter((m) => m.igvmType === IGVM_MEMORY_TYPE.MEMORY).map((m) => ({ base: Number(m.base), size: Number(m.size), vnode: m.vnode }));
    assert.equal(ram, topologyFromConfig(c).nodes.flatMap((n) => n.memory.map((r) => ({ ...r, vnode: n.vnode }))));
    const vtl2 = h.memory.filter((m) => m.igvmType === IGVM_MEMORY_TYPE.VTL2_PROTECTABLE);
    assert.equal(vtl2.map((m) => [Number(m.base), Number(m.size), m.vnode]), [[c.vtl2.base, c.vtl2.size, c.vtl2.vnode]]);
    assert.is(h.bootargs, c.sidecar === 'on' ? c.cmdline.host : `OPENHCL_SIDECAR=${c.sidecar} ${c.cmdline.host}`.trim());
    assert.is(h.allocationMode, 'host');
    assert.is(Buffer.from(h.entropy!).toString('hex'), c.entropy);
    assert.equal(h.keepAlive, c.keepAlive.nvme ? ['nvme'] : []);
    assert.is(h.vmbusVtl0.connectionId, c.vmbus.vtl0ConnectionId);
    assert.is(h.vmbusVtl2.connectionId, c.vmbus.vtl2ConnectionId);
    assert.equal(h.vmbusVtl0.mmio.map((r) => [Number(r.gpa), Number(r.size)]), c.mmio.vtl0.map((r) => [r.base, r.size]));
    assert.equal(h.vmbusVtl2.mmio, []);
    if (c.arch === 'aarch64') {
      assert.equal(h.gic, { version: 3, distributor: BigInt(c.aarch64!.gicDistributor), second: BigInt(c.aarch64!.gicRedistributor) });
      assert.equal(h.serial.map((s) => [s.kind, Number(s.base)]), [['pl011', c.aarch64!.uart]]);
    } else {
      assert.is(h.serial.length, c.devices.serial.length);
    }
  });

  test(`dtc decompiles the host DTB of ${name} with only the known format warnings`, () => {
    if (!hasDtc) return;
    const file = join(dir, `${name}.dtb`);
    writeFileSync(file, hostDtb(presetConfig(name)));
    const r = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', file], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    const warnings = r.stderr.split('\n').filter((l) => l.includes('Warning'));
    for (const w of warnings) assert.ok(ALLOWED.some((re) => re.test(w)), `unexpected dtc warning: ${w}`);
    assert.match(r.stdout, 'memory-allocation-mode = "host"');
  });
}

test('vtl2 allocation mode: no VTL2 memory node, memory-size in /openhcl', () => {
  const c = presetConfig('small');
  c.vtl2.mode = 'vtl2';
  const h = parseHostDt(readFdt(hostDtb(c)));
  assert.is(h.allocationMode, 'vtl2');
  assert.is(h.vtl2MemorySize, BigInt(c.vtl2.size));
  assert.not.ok(h.memory.some((m) => m.igvmType === IGVM_MEMORY_TYPE.VTL2_PROTECTABLE));
});

test('host-given VTL2 MMIO goes to the VTL2 VMBus node', () => {
  const c = presetConfig('small');
  c.mmio.vtl2 = [{ base: 0x20_0000_0000, size: 0x1000_0000 }];
  const h = parseHostDt(readFdt(hostDtb(c)));
  assert.equal(h.vmbusVtl2.mmio, [{ gpa: 0x20_0000_0000n, size: 0x1000_0000n }]);
});

const sum = (b: Uint8Array): number => b.reduce((s, x) => s + x, 0) % 256;

for (const name of ['small', 'numa', 'arm64-virt']) {
  test(`SLIT of ${name}: ACPI header with checksum, matrix round-trips`, () => {
    const c = presetConfig(name);
    const slit = hostSlit(c);
    assert.is(new TextDecoder().decode(slit.subarray(0, 4)), 'SLIT');
    assert.is(new DataView(slit.buffer).getUint32(4, true), slit.length);
    assert.is(sum(slit), 0);
    assert.equal(decodeSlit(slit), distanceMatrix(c));
  });

  test(`PPTT of ${name}: one package per node, one leaf per VP pointing at its node`, () => {
    const c = presetConfig(name);
    const t = hostPptt(c);
    const v = new DataView(t.buffer, t.byteOffset, t.byteLength);
    assert.is(new TextDecoder().decode(t.subarray(0, 4)), 'PPTT');
    assert.is(v.getUint32(4, true), t.length);
    assert.is(sum(t), 0);
    const nodes: Array<{ at: number; flags: number; parent: number; id: number }> = [];
    for (let at = 36; at < t.length; at += t[at + 1]!) nodes.push({ at, flags: v.getUint32(at + 4, true), parent: v.getUint32(at + 8, true), id: v.getUint32(at + 12, true) });
    const leaves = nodes.filter((n) => n.flags & PPTT_FLAGS.LEAF);
    assert.is(nodes.length - leaves.length, c.numa.length);
    assert.equal(leaves.map((l) => l.id), c.vps.map((_, i) => i));
    leaves.forEach((l, i) => {
      const pkg = nodes.find((n) => n.at === l.parent)!;
      assert.ok(pkg.flags & PPTT_FLAGS.PHYSICAL_PACKAGE);
      assert.is(pkg.id, c.vps[i]!.vnode);
    });
  });
}

test('the sidecar mode travels in the host bootargs ahead of the user words', () => {
  const c = presetConfig('numa');
  assert.is(hostBootargs({ ...c, sidecar: 'on' }), c.cmdline.host);
  assert.is(hostBootargs({ ...c, sidecar: 'off', cmdline: { ...c.cmdline, host: 'quiet' } }), 'OPENHCL_SIDECAR=off quiet');
  assert.is(hostBootargs({ ...c, sidecar: 'log', cmdline: { ...c.cmdline, host: '' } }), 'OPENHCL_SIDECAR=log');
});

test.run();
