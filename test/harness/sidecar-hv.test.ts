import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { presetConfig } from '../../lib/config/index.ts';
import { ByteWriter } from '../../lib/bytes/index.ts';
import { SIDECAR_COMMAND } from '../../lib/abi/index.ts';
import { boot, type Vm } from '../../harness/pipeline.ts';
import { hvByName } from '../../lib/hv/index.ts';

// Register codes from openvmm vm/hv1/hvdef/src/lib.rs (HvX64RegisterName): Rip = 0x00020010,
// Rax = 0x00020000, Es = 0x00060000 (a 128-bit segment register, not a u64 value).
const RIP = 0x0002_0010;
const RAX = 0x0002_0000;
const ES = 0x0006_0000;

// SET_VP_REGISTERS request (openhcl sidecar_defs): count, reserved, then per register name, pad, u64 value.
function setRequest(regs: Array<readonly [number, bigint]>): Uint8Array {
  const w = new ByteWriter(8 + 16 * regs.length).u32(regs.length).u32(0);
  for (const [name, value] of regs) w.u32(name).u32(0).u64(value);
  return w.finish();
}

function command(vm: Vm, vp: number, cmd: number, request: Uint8Array) {
  const sidecar = vm.sidecar!;
  sidecar.submit(vp, cmd, request);
  assert.is(sidecar.step(vp), 'IDLE');
  sidecar.clearAttention(vp);
  return sidecar.response(vp);
}

test('SET_VP_REGISTERS through the sidecar writes the hypervisor partition: it appears in hv.save()', () => {
  const vm = boot(presetConfig('numa'));
  const vp = vm.discovered.topology.vps.find((v) => !vm.kernel.online().includes(v.index))!.index;
  assert.is(vm.sidecar?.status(vp), 'IDLE');
  const before = hvByName(vm.hv.save()).vps[vp]!.registers;
  const r = command(vm, vp, SIDECAR_COMMAND.SET_VP_REGISTERS, setRequest([[RIP, 0x1234_5678n], [RAX, 7n]]));
  assert.is(r.hasError, false, r.error);
  const after = hvByName(vm.hv.save()).vps[vp]!.registers;
  assert.equal(after, { ...before, rip: 0x1234_5678n, rax: 7n });
  // GET reads the partition too: a write made on the hypervisor side is what the sidecar returns.
  vm.hv.setRegister(vp, 'rax', 0xabcn);
  const got = command(vm, vp, SIDECAR_COMMAND.GET_VP_REGISTERS, new ByteWriter(12).u32(2).u32(RIP).u32(RAX).finish());
  const dv = new DataView(got.data.buffer, got.data.byteOffset);
  assert.equal([dv.getUint32(0, true), dv.getBigUint64(4, true), dv.getBigUint64(12, true)], [2, 0x1234_5678n, 0xabcn]);
});

test('SET_VP_REGISTERS with a code the partition has no u64 register for fails the command and writes nothing', () => {
  const vm = boot(presetConfig('numa'));
  const vp = vm.discovered.topology.vps.find((v) => !vm.kernel.online().includes(v.index))!.index;
  const before = vm.hv.save();
  const r = command(vm, vp, SIDECAR_COMMAND.SET_VP_REGISTERS, setRequest([[RIP, 1n], [ES, 2n]]));
  assert.is(r.hasError, true);
  assert.is(r.error, `hv: vp ${vp}: no x86_64 register with code 0x60000`);
  assert.equal(vm.hv.save(), before);
});

test.run();
