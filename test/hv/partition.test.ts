import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AARCH64_REGISTERS, HvPartition, X86_REGISTERS } from '../../lib/hv/index.ts';
import { encodeCanonical } from '../../lib/state/codec.ts';
import { testContext, throwsHcl } from '../hcl/units/fixture.ts';

const archs = [['x86_64', X86_REGISTERS, 'rip'], ['aarch64', AARCH64_REGISTERS, 'pc']] as const;

for (const [arch, names, pcName] of archs) {
  test(`${arch}: every VP has every register of its architecture`, () => {
    const hv = new HvPartition(testContext(3, arch).topology);
    const s = hv.save();
    assert.is(s.arch, arch);
    assert.equal(s.vps.map((v) => Object.keys(v.registers)), [names, names, names].map((n) => [...n]));
  });

  test(`${arch}: register writes change one VP and survive save → restore → save`, () => {
    const ctx = testContext(3, arch);
    const hv = new HvPartition(ctx.topology);
    hv.setRegister(1, pcName, 0xffff_ffff_ffff_fff0n);
    assert.is(hv.getRegister(1, pcName), 0xffff_ffff_ffff_fff0n);
    assert.is.not(hv.getRegister(0, pcName), 0xffff_ffff_ffff_fff0n);
    const other = new HvPartition(ctx.topology);
    other.restore(hv.save());
    assert.equal(encodeCanonical(other.save()), encodeCanonical(hv.save()));
  });
}

test('x86 reset state follows the SDM; only VP 0 is the BSP', () => {
  const hv = new HvPartition(testContext(2).topology);
  assert.equal([hv.getRegister(0, 'rip'), hv.getRegister(0, 'csBase'), hv.getRegister(0, 'rflags')], [0xfff0n, 0xffff_0000n, 2n]);
  assert.is(hv.getRegister(0, 'apicBase') & 0x100n, 0x100n);
  assert.is(hv.getRegister(1, 'apicBase') & 0x100n, 0n);
});

test('save is a copy', () => {
  const hv = new HvPartition(testContext().topology);
  const s = hv.save();
  hv.setRegister(0, 'rax', 7n);
  assert.is(s.vps[0]?.registers['rax'], 0n);
});

test('restore validates with the field path and checks the topology', () => {
  const hv = new HvPartition(testContext(2).topology);
  const s = hv.save();
  const bad = structuredClone(s);
  (bad.vps[1]?.registers as Record<string, unknown>)['cr3'] = 5;
  throwsHcl(() => hv.restore(bad), 'STATE_SCHEMA', 'hv: vps[1].registers.cr3: expected bigint');
  throwsHcl(() => hv.restore({ ...s, arch: 'riscv' }), 'STATE_SCHEMA', 'hv: ');
  throwsHcl(() => hv.restore(new HvPartition(testContext(3).topology).save()), 'TOPOLOGY_MISMATCH', 'hv: saved 3 vps but partition has 2');
  throwsHcl(() => hv.restore(new HvPartition(testContext(2, 'aarch64').topology).save()), 'TOPOLOGY_MISMATCH', 'hv: saved aarch64 registers for a x86_64 partition');
});

const invalid: Array<[string, (hv: HvPartition) => unknown, string]> = [
  ['VP out of range', (hv) => hv.setRegister(4, 'rax', 1n), 'hv: vp 4 out of range'],
  ['register of the other architecture', (hv) => hv.setRegister(0, 'x0', 1n), 'no x86_64 register x0'],
  ['value wider than u64', (hv) => hv.setRegister(0, 'rax', 1n << 64n), 'is not a u64'],
  ['negative value', (hv) => hv.setRegister(0, 'rax', -1n), 'is not a u64'],
  ['read of an unknown register', (hv) => hv.getRegister(0, 'eip'), 'no x86_64 register eip'],
];
for (const [what, op, msg] of invalid) test(`invalid: ${what}`, () => throwsHcl(() => op(new HvPartition(testContext().topology)), 'HV_INVALID', msg));

test.run();
