import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HV_REGISTER_CODE } from '../../lib/abi/index.ts';
import { AARCH64_REGISTERS, X86_REGISTERS, registerByCode } from '../../lib/hv/index.ts';

const KEPT = { x86_64: X86_REGISTERS, aarch64: AARCH64_REGISTERS } as const;

for (const arch of ['x86_64', 'aarch64'] as const) {
  test(`${arch}: every coded register is one the partition keeps, each code names one register, and the lookup inverts it`, () => {
    const entries = Object.entries(HV_REGISTER_CODE[arch]);
    for (const [name] of entries) assert.ok(KEPT[arch].includes(name), `${name} is not an ${arch} register of the model`);
    assert.is(new Set(entries.map(([, c]) => c)).size, entries.length);
    for (const [name, code] of entries) assert.is(registerByCode(arch, code), name);
  });
}

// Values from openvmm vm/hv1/hvdef/src/lib.rs: HvX64RegisterName Rsp = 0x00020004, Rip = 0x00020010,
// Efer = 0x00080001; HvArm64RegisterName XLr (x30) = 0x0002001E, XPc = 0x00020022, ElrEl1 = 0x00040015.
const SAMPLES: Array<['x86_64' | 'aarch64', string, number]> = [
  ['x86_64', 'rsp', 0x0002_0004], ['x86_64', 'rip', 0x0002_0010], ['x86_64', 'efer', 0x0008_0001],
  ['aarch64', 'x30', 0x0002_001e], ['aarch64', 'pc', 0x0002_0022], ['aarch64', 'elrEl1', 0x0004_0015],
];
for (const [arch, name, code] of SAMPLES) {
  test(`${arch} ${name} has hvdef code 0x${code.toString(16)}`, () => assert.is(HV_REGISTER_CODE[arch][name], code));
}

test('a code the model has no register for (x64 Es, a 128-bit segment register) looks up nothing', () => {
  assert.is(registerByCode('x86_64', 0x0006_0000), undefined);
});

test.run();
