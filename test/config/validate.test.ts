import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { vnodeOfLastRam } from '../../lib/config/rules.ts';
import { isHclError } from '../../lib/errors.ts';
import { presetConfig, validateConfig, pointerToPath, type VmConfig } from '../../lib/config/index.ts';

type Mutate = (c: VmConfig) => void;
const MIB = 0x10_0000;

// Each case breaks one rule on a valid preset; the error must name `path` and say `says`.
const CASES: Array<{ rule: string; preset?: string; mutate: Mutate; path: string; says: string }> = [
  { rule: 'shape: unknown property', mutate: (c) => Object.assign(c, { extra: 1 }), path: 'extra', says: 'unexpected property' },
  { rule: 'shape: wrong type', mutate: (c) => Object.assign(c.vps[1]!, { vnode: 'x' }), path: 'vps[1].vnode', says: 'expected integer' },
  { rule: 'shape: VP limit 2048', preset: 'large', mutate: (c) => c.vps.push({ reg: 5000, vnode: 0 }), path: 'vps', says: '2048' },
  { rule: 'shape: node limit 64', preset: 'large', mutate: (c) => c.numa.push({ memory: [{ base: 0x1000_0000_0000, size: 4096 }] }), path: 'numa', says: '64' },
  { rule: 'vnode exists', preset: 'numa', mutate: (c) => (c.vps[3]!.vnode = 7), path: 'vps[3].vnode', says: 'node 7 does not exist' },
  { rule: 'vtl2 vnode exists', mutate: (c) => (c.vtl2.vnode = 2), path: 'vtl2.vnode', says: 'node 2 does not exist' },
  { rule: 'distances square', preset: 'numa', mutate: (c) => c.distances!.pop(), path: 'distances', says: '3 rows, expected 4' },
  { rule: 'distances row length', preset: 'numa', mutate: (c) => c.distances![2]!.pop(), path: 'distances[2]', says: '3 entries, expected 4' },
  { rule: 'distances diagonal', preset: 'numa', mutate: (c) => (c.distances![1]![1] = 11), path: 'distances[1][1]', says: 'must be 10' },
  { rule: 'distances off-diagonal', preset: 'numa', mutate: (c) => { c.distances![0]![1] = 10; c.distances![1]![0] = 10; }, path: 'distances[0][1]', says: 'above 10' },
  { rule: 'distances symmetric', preset: 'numa', mutate: (c) => (c.distances![0]![3] = 40), path: 'distances[0][3]', says: 'symmetric' },
  { rule: 'RAM aligned', mutate: (c) => (c.numa[0]!.memory[0]!.base = 0x800), path: 'numa[0].memory[0].base', says: 'not 4K-aligned' },
  { rule: 'RAM size aligned', mutate: (c) => (c.numa[0]!.memory[0]!.size += 0x10), path: 'numa[0].memory[0].size', says: 'not a multiple of 4K' },
  { rule: 'RAM non-empty', mutate: (c) => (c.numa[0]!.memory[0]!.size = 0), path: 'numa[0].memory[0].size', says: 'empty' },
  { rule: 'RAM sorted', preset: 'numa', mutate: (c) => c.numa[0]!.memory.reverse(), path: 'numa[0].memory[1].base', says: 'must be sorted' },
  { rule: 'RAM no overlap across nodes', preset: 'numa', mutate: (c) => (c.numa[2]!.memory[0]!.base -= 0x1000), path: 'numa[2].memory[0]', says: 'overlaps numa[1]' },
  { rule: 'VTL2 big enough for the package', mutate: (c) => (c.vtl2.size = 16 * MIB), path: 'vtl2.size', says: 'is below the 0x4000000 the OpenHCL package needs' },
  { rule: 'vtl2 mode: VTL2 vnode is the node of the highest RAM', preset: 'numa', mutate: (c) => { c.vtl2.mode = 'vtl2'; c.vtl2.vnode = (vnodeOfLastRam(c) + 1) % c.numa.length; }, path: 'vtl2.vnode', says: 'in vtl2 allocation mode VTL2 RAM belongs to node' },
  { rule: 'VM name starts with a letter or digit', mutate: (c) => (c.name = '.hidden'), path: 'name', says: 'expected string to match' },
  { rule: 'VTL2 aligned', mutate: (c) => (c.vtl2.base += 0x200), path: 'vtl2.base', says: 'not 4K-aligned' },
  { rule: 'VTL2 above RAM', mutate: (c) => (c.vtl2.base = 128 * MIB), path: 'vtl2.base', says: 'below the end of VTL0 RAM' },
  { rule: 'vtl2 mode carves VTL2 MMIO at or above 4 GiB', mutate: (c) => { c.vtl2.mode = 'vtl2'; c.vtl2.vnode = vnodeOfLastRam(c); c.mmio.vtl0[1] = { base: 0xe000_0000, size: 0x1000_0000 }; }, path: 'mmio.vtl0[1].base', says: 'is below 4 GiB' },
  { rule: 'VTL2 not in MMIO', mutate: (c) => (c.vtl2.base = c.mmio.vtl0[1]!.base), path: 'vtl2', says: 'overlaps mmio.vtl0[1]' },
  { rule: 'MMIO not in RAM', mutate: (c) => (c.mmio.vtl0[0]!.base = 0x1000_0000), path: 'mmio.vtl0[0]', says: 'overlaps numa[0].memory[0]' },
  { rule: 'MMIO ranges disjoint', mutate: (c) => (c.mmio.vtl2 = [{ base: c.mmio.vtl0[1]!.base, size: 128 * MIB }]), path: 'mmio.vtl2[0]', says: 'overlaps mmio.vtl0[1]' },
  { rule: 'MMIO high gap can be carved', mutate: (c) => (c.mmio.vtl0[1]!.size = 64 * MIB), path: 'mmio.vtl0[1].size', says: 'too small' },
  { rule: 'regs unique', mutate: (c) => (c.vps[2]!.reg = 0), path: 'vps[2].reg', says: 'duplicates vps[0].reg' },
  { rule: 'xAPIC ID below 255', mutate: (c) => (c.vps[1]!.reg = 255), path: 'vps[1].reg', says: 'needs x2APIC' },
  { rule: 'MPIDR affinity only', preset: 'arm64-virt', mutate: (c) => (c.vps[1]!.reg = 0x8000_0001), path: 'vps[1].reg', says: 'bits 24-31' },
  { rule: 'aarch64 block required', preset: 'arm64-virt', mutate: (c) => delete c.aarch64, path: 'aarch64', says: 'required' },
  { rule: 'no aarch64 block on x86', mutate: (c) => (c.aarch64 = presetConfig('arm64-virt').aarch64!), path: 'aarch64', says: 'x86_64' },
  { rule: 'aarch64 RAM from 0x40000000', preset: 'arm64-virt', mutate: (c) => (c.numa[0]!.memory[0]!.base = 0x3000_0000), path: 'numa[0].memory[0].base', says: 'below 0x40000000' },
  { rule: 'aarch64 isolation', preset: 'arm64-virt', mutate: (c) => (c.isolation = 'snp'), path: 'isolation', says: 'x86-only' },
  { rule: 'GIC not in MMIO', preset: 'arm64-virt', mutate: (c) => (c.aarch64!.gicDistributor = 0x1000_0000), path: 'aarch64.gicDistributor', says: 'overlaps mmio.vtl0[0]' },
  { rule: 'NVMe ids unique', preset: 'numa', mutate: (c) => (c.devices.nvme[1]!.id = 'nvme0'), path: 'devices.nvme[1].id', says: 'duplicates devices.nvme[0].id' },
  { rule: 'namespace ids unique', mutate: (c) => (c.devices.nvme[0]!.namespaces[1]!.nsid = 1), path: 'devices.nvme[0].namespaces[1].nsid', says: 'duplicates' },
  { rule: 'channel ids unique', mutate: (c) => (c.devices.channels[2]!.instanceId = c.devices.channels[0]!.instanceId), path: 'devices.channels[2].instanceId', says: 'duplicates' },
  { rule: 'serial ports unique', mutate: (c) => (c.devices.serial[1]!.port = 'com1'), path: 'devices.serial[1].port', says: 'duplicates devices.serial[0].port' },
  { rule: 'entropy at most 256 bytes', mutate: (c) => (c.entropy = 'ab'.repeat(257)), path: 'entropy', says: '257 bytes, at most 256' },
  { rule: 'static cmdline at most 4092 bytes', mutate: (c) => (c.cmdline.static = 'é'.repeat(2047)), path: 'cmdline.static', says: '4094 bytes' },
];

function errorOf(json: unknown): { message: string; errors: Array<{ path: string; message: string }> } {
  try {
    validateConfig(json, 'vm.json');
  } catch (e) {
    assert.ok(isHclError(e, 'CONFIG_INVALID'), `expected CONFIG_INVALID, got ${String(e)}`);
    return { message: e.message, errors: e.context!['errors'] as Array<{ path: string; message: string }> };
  }
  throw new Error('expected validateConfig to fail');
}

for (const c of CASES) {
  test(`CONFIG_INVALID: ${c.rule} → ${c.path}`, () => {
    const config = presetConfig(c.preset ?? 'small');
    c.mutate(config);
    const { message, errors } = errorOf(config);
    const hit = errors.find((e) => e.path === c.path && e.message.toLowerCase().includes(c.says.toLowerCase()));
    assert.ok(hit, `no error at ${c.path} saying "${c.says}" in: ${message}`);
    assert.ok(message.startsWith('vm.json: '), message);
    assert.ok(message.includes(`${c.path}: ${hit.message}`), message);
  });
}

test('every bad field is reported in one error', () => {
  const config = presetConfig('numa');
  config.vps[3]!.vnode = 7;
  config.devices.serial[1]!.port = 'com1';
  config.entropy = 'ab'.repeat(300);
  const { message, errors } = errorOf(config);
  assert.equal(errors.map((e) => e.path).sort(), ['devices.serial[1].port', 'entropy', 'vps[3].vnode']);
  assert.match(message, /3 invalid fields: /);
});

test('x2APIC IDs are accepted once the VM has more than 255 VPs', () => {
  const config = presetConfig('large');
  config.vps[0]!.reg = 100_000;
  assert.is(validateConfig(config).vps[0]!.reg, 100_000);
});

test('validateConfig returns the same object when valid', () => {
  const config = presetConfig('small');
  assert.is(validateConfig(config), config);
});

const POINTERS: Array<[string, string]> = [['', '(root)'], ['/vps/3/vnode', 'vps[3].vnode'], ['/distances/1/2', 'distances[1][2]'], ['/a~1b', 'a/b']];
for (const [ptr, path] of POINTERS) test(`pointerToPath(${JSON.stringify(ptr)}) = ${path}`, () => assert.is(pointerToPath(ptr), path));

test.run();
