import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AARCH64_REGISTERS, HvPartition, X86_REGISTERS, currentHv, hvByName, hvFromNamed, hvGenerationOf, hvView, resetRegisters, type HvNamedState,
} from '../../lib/hv/index.ts';
import { decodeCanonical, encodeCanonical } from '../../lib/state/codec.ts';
import { testContext, throwsHcl } from '../hcl/units/fixture.ts';

const archs = [['x86_64', X86_REGISTERS, 'rip'], ['aarch64', AARCH64_REGISTERS, 'pc']] as const;

for (const [arch, names, pcName] of archs) {
  test(`${arch}: the register file holds every register of every VP, ${names.length} × 8 bytes per VP`, () => {
    const hv = new HvPartition(testContext(3, arch).topology);
    const s = hv.save();
    assert.equal([s.arch, s.vpCount, s.registers.length], [arch, 3, 3 * names.length * 8]);
    assert.equal(hvByName(s).vps.map((v) => Object.keys(v.registers)), [names, names, names].map((n) => [...n]));
    assert.is(hvGenerationOf(s), 2);
  });

  test(`${arch}: register writes change one VP and survive save → restore → save`, () => {
    const ctx = testContext(3, arch);
    const hv = new HvPartition(ctx.topology);
    hv.setRegister(1, pcName, 0xffff_ffff_ffff_fff0n);
    assert.is(hv.getRegister(1, pcName), 0xffff_ffff_ffff_fff0n);
    assert.is.not(hv.getRegister(0, pcName), 0xffff_ffff_ffff_fff0n);
    const other = new HvPartition(ctx.topology);
    other.restore(decodeCanonical(encodeCanonical(hv.save()), 'test'));
    assert.equal(encodeCanonical(other.save()), encodeCanonical(hv.save()));
  });

  test(`${arch}: the layout puts register r of VP i at byte (i × ${names.length} + r) × 8, little-endian`, () => {
    const hv = new HvPartition(testContext(4, arch).topology);
    const r = names.indexOf(pcName);
    hv.setRegister(2, pcName, 0x0102_0304_0506_0708n);
    const b = hv.save().registers;
    const at = (2 * names.length + r) * 8;
    assert.equal([...b.subarray(at, at + 8)], [8, 7, 6, 5, 4, 3, 2, 1]);
  });

  test(`${arch}: every VP starts at its reset values`, () => {
    const topology = testContext(5, arch).topology;
    const named = hvByName(HvPartition.resetState(topology));
    assert.equal(named.vps.map((v) => v.registers), topology.vps.map((v) => resetRegisters(arch, v.index)));
  });

  test(`${arch}: generation 1 (registers by name) upgrades to the file and back, losslessly`, () => {
    const hv = new HvPartition(testContext(3, arch).topology);
    hv.setRegister(2, pcName, 0xdead_beefn);
    const named = hvByName(hv.save());
    assert.is(named.vps[2]?.registers[pcName], 0xdead_beefn);
    assert.equal(hvFromNamed(named), hv.save());
    assert.equal(currentHv(named, 1), hv.save());
    assert.equal(hvView(hv.save()), named);
    assert.is(hvGenerationOf(named), 1);
  });
}

test('x86 reset state follows the SDM; only VP 0 is the BSP', () => {
  const hv = new HvPartition(testContext(2).topology);
  assert.equal([hv.getRegister(0, 'rip'), hv.getRegister(0, 'csBase'), hv.getRegister(0, 'rflags')], [0xfff0n, 0xffff_0000n, 2n]);
  assert.is(hv.getRegister(0, 'apicBase') & 0x100n, 0x100n);
  assert.is(hv.getRegister(1, 'apicBase') & 0x100n, 0n);
});

test('save is a copy, and so is what restore takes', () => {
  const hv = new HvPartition(testContext().topology);
  const s = hv.save();
  hv.setRegister(0, 'rax', 7n);
  assert.is(hvByName(s).vps[0]?.registers['rax'], 0n);
  const other = new HvPartition(testContext().topology);
  other.restore(s);
  s.registers.fill(0xff);
  assert.is(other.getRegister(0, 'rax'), 0n);
});

test('restore validates with the field path and checks the topology and the file size', () => {
  const hv = new HvPartition(testContext(2).topology);
  const s = hv.save();
  throwsHcl(() => hv.restore({ ...s, registers: [1, 2] }), 'STATE_SCHEMA', 'hv: registers');
  throwsHcl(() => hv.restore({ ...s, arch: 'riscv' }), 'STATE_SCHEMA', 'hv: ');
  throwsHcl(() => hv.restore({ ...s, vpCount: -1 }), 'STATE_SCHEMA', 'hv: vpCount');
  throwsHcl(() => hv.restore(hvByName(s)), 'STATE_SCHEMA', 'hv: ');
  // vp_set.rs VpSet::restore: saved state for a VP the partition lacks is UnknownEntryId("vpN").
  throwsHcl(() => hv.restore(new HvPartition(testContext(3).topology).save()), 'STATE_UNKNOWN_ENTRY', 'hv: restore failed: unknown entry id: vp2 (the partition has 2 vps, the saved state 3)');
  throwsHcl(() => hv.restore(new HvPartition(testContext(2, 'aarch64').topology).save()), 'TOPOLOGY_MISMATCH', 'hv: saved aarch64 registers for a x86_64 partition');
  throwsHcl(() => hv.restore({ ...s, registers: s.registers.subarray(8) }), 'HV_INVALID', `hv: register file is ${s.registers.length - 8} bytes, 2 vps × 38 registers need ${s.registers.length}`);
});

test('fewer saved VPs than the partition has: the saved ones are restored, the rest keep their reset registers (vp_set.rs VpSet::restore)', () => {
  const small = new HvPartition(testContext(2).topology);
  small.setRegister(0, 'rax', 0x1111n);
  small.setRegister(1, 'rip', 0x2222n);
  const big = new HvPartition(testContext(4).topology);
  big.setRegister(3, 'rax', 0x3333n);
  big.restore(small.save());
  assert.is(big.save().vpCount, 4);
  assert.is(big.getRegister(0, 'rax'), 0x1111n);
  assert.is(big.getRegister(1, 'rip'), 0x2222n);
  // VPs 2 and 3 have no saved entry: they are at architectural reset, whatever they held before.
  const reset = HvPartition.resetState(testContext(4).topology).registers;
  const perVp = reset.length / 4;
  assert.equal(big.save().registers.subarray(2 * perVp), reset.subarray(2 * perVp));
  assert.is(big.getRegister(3, 'rax'), 0n);
});

test('generation-1 values are validated before the upgrade; a VP out of place is HV_INVALID', () => {
  const named = hvByName(new HvPartition(testContext(2).topology).save());
  const bad = structuredClone(named);
  (bad.vps[1]?.registers as Record<string, unknown>)['cr3'] = 5;
  throwsHcl(() => currentHv(bad, 1), 'STATE_SCHEMA', 'hv: vps[1].registers.cr3: expected bigint');
  const swapped: HvNamedState = { ...named, vps: [named.vps[1]!, named.vps[0]!] };
  throwsHcl(() => currentHv(swapped, 1), 'HV_INVALID', 'hv: vps[0].index is 1');
  assert.equal(hvView({ arch: 'x86_64', vps: [] }), { arch: 'x86_64', vps: [] }, 'show prints anything else as it is');
});

const invalid: Array<[string, (hv: HvPartition) => unknown, string]> = [
  ['VP out of range', (hv) => hv.setRegister(4, 'rax', 1n), 'hv: vp 4 out of range'],
  ['negative VP', (hv) => hv.getRegister(-1, 'rax'), 'hv: vp -1 out of range'],
  ['register of the other architecture', (hv) => hv.setRegister(0, 'x0', 1n), 'no x86_64 register x0'],
  ['value wider than u64', (hv) => hv.setRegister(0, 'rax', 1n << 64n), 'is not a u64'],
  ['negative value', (hv) => hv.setRegister(0, 'rax', -1n), 'is not a u64'],
  ['read of an unknown register', (hv) => hv.getRegister(0, 'eip'), 'no x86_64 register eip'],
];
for (const [what, op, msg] of invalid) test(`invalid: ${what}`, () => throwsHcl(() => op(new HvPartition(testContext().topology)), 'HV_INVALID', msg));

test.run();
