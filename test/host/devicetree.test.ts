import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PRESETS, presetConfig, splitMmio, topologyFromConfig } from '../../lib/config/index.ts';
import { findNode, propCells, propStrings, propU32, readFdt } from '../../lib/fdt/index.ts';
import { expectError } from '../shim/expect.ts';
import { hostBootargs, hostDtb, hostPptt, hostSlit, distanceMatrix, PPTT_FLAGS } from '../../lib/host/index.ts';
import { parseHostDt } from '../../lib/shim/hostdt.ts';
import { IGVM_MEMORY_TYPE } from '../../lib/abi/index.ts';
import { decodeSlit } from '../../lib/abi/slit.ts';

const dir = mkdtempSync(join(tmpdir(), 'hclckpt-hostdt-'));
const hasDtc = spawnSync('dtc', ['--version']).status === 0;
// Warnings inherent to the host DT as OpenVMM writes it (openvmm_core vm_loaders/igvm.rs
// build_device_tree): /openhcl has no cells and its entropy child carries raw bytes in `reg`;
// /pio-bus is 1/1 under a 2/2 root with empty ranges; UART `interrupts` have no parent; the VTL2
// VMBus node has empty ranges when the shim carves. dtc's follow-on "Failed prerequisite" lines.
const ALLOWED = [
  /\/openhcl\/entropy/, /ranges_format\): \/pio-bus:ranges/, /interrupts_property\): \/(pio-bus\/)?serial@[0-9a-f]+: Missing interrupt-parent/,
  /\/bus\/vmbus-vtl2/, /Failed prerequisite/,
];

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
    assert.is(h.nvmeKeepAlive, c.keepAlive.nvme);
    assert.equal(h.warnings, []);
    assert.is(h.vmbusVtl0.connectionId, c.vmbus.vtl0ConnectionId);
    assert.is(h.vmbusVtl2.connectionId, c.vmbus.vtl2ConnectionId);
    // Host mode: the host gives VTL2 its MMIO in the VTL2 VMBus node (OpenVMM's vtl2 chipset range).
    const split = splitMmio(c);
    assert.equal(h.vmbusVtl0.mmio.map((r) => [Number(r.gpa), Number(r.size)]), split.vtl0.map((r) => [r.base, r.size]));
    assert.equal(h.vmbusVtl2.mmio.map((r) => [Number(r.gpa), Number(r.size)]), split.vtl2.map((r) => [r.base, r.size]));
    if (c.arch === 'aarch64') {
      assert.equal(h.gic, {
        distributor: BigInt(c.aarch64!.gicDistributor), distributorSize: 0x1_0000n,
        redistributors: BigInt(c.aarch64!.gicRedistributor), redistributorsSize: 0x2_0000n * BigInt(c.vps.length), redistributorStride: 0x2_0000n,
      });
      assert.equal(h.com3, { kind: 'pl011', base: BigInt(c.aarch64!.uart), intid: 1, speed: 115200 });
    } else {
      const com3 = c.devices.serial.find((s) => s.port === 'com3');
      assert.equal(h.com3, com3 === undefined ? undefined : { kind: 'ns16550', base: 0x3e8n, speed: com3.baud });
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
  // vtl2 mode without configured VTL2 MMIO: the host leaves the carve to the shim.
  assert.equal(h.vmbusVtl2.mmio, []);
  assert.equal(h.vmbusVtl0.mmio.map((r) => [Number(r.gpa), Number(r.size)]), c.mmio.vtl0.map((r) => [r.base, r.size]));
});

// The layout OpenVMM writes (openvmm_core worker/vm_loaders/igvm.rs build_device_tree): COM3 as
// an "ns16550" child of an x86-pio-bus, 1/1 cells, u64 reg (port, 8), current-speed 115200.
test('x86 host DT: COM3 under /pio-bus as OpenVMM writes it, read back as the console', () => {
  const c = presetConfig('small');
  const dt = readFdt(hostDtb(c));
  const bus = findNode(dt.root, '/pio-bus')!;
  assert.equal(propStrings(bus, 'compatible'), ['x86-pio-bus']);
  assert.equal([propU32(bus, '#address-cells'), propU32(bus, '#size-cells')], [1, 1]);
  const com3 = findNode(dt.root, '/pio-bus/serial@3e8')!;
  assert.equal(propStrings(com3, 'compatible'), ['ns16550']);
  assert.equal(propCells(com3, 'reg', 2), [0x3e8n, 8n]);
  assert.is(propU32(com3, 'current-speed'), 115200);
  assert.equal(parseHostDt(dt).com3, { kind: 'ns16550', base: 0x3e8n, speed: 115200 });
});

test('arm64 host DT with a GICv2 is refused: host_fdt_parser accepts only "arm,gic-v3"', () => {
  const c = presetConfig('arm64-virt');
  c.aarch64 = { ...c.aarch64!, gicVersion: 2 };
  expectError(() => hostDtb(c), 'CONFIG_INVALID', 'GICv3 only');
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
