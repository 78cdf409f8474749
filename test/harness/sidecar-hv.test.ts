import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { presetConfig } from '../../lib/config/index.ts';
import { ByteWriter } from '../../lib/bytes/index.ts';
import { SIDECAR_COMMAND } from '../../lib/abi/index.ts';
import { boot, type Vm } from '../../harness/pipeline.ts';
import { HV_STATUS_INVALID_PARAMETER } from '../../lib/sidecar/index.ts';
import { hvByName } from '../../lib/hv/index.ts';

// Register codes from openvmm vm/hv1/hvdef/src/lib.rs (HvX64RegisterName): Rip = 0x00020010,
// Rax = 0x00020000, Es = 0x00060000 (a 128-bit segment register, not a u64 value).
const RIP = 0x0002_0010;
const RAX = 0x0002_0000;
const ES = 0x0006_0000;

// GET/SET_VP_REGISTERS request (openhcl sidecar_defs GetSetVpRegisterRequest): count u16,
// target_vtl u8, rsvd u8, status u16, rsvd2 [u8; 10], then hvdef HvRegisterAssoc {name u32,
// pad [u32; 3], value u128} per register.
function setRequest(regs: Array<readonly [number, bigint]>): Uint8Array {
  const w = new ByteWriter(16 + 32 * regs.length).u16(regs.length).zeros(14);
  for (const [name, value] of regs) w.u32(name).zeros(12).u64(value).u64(0n);
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
  const got = command(vm, vp, SIDECAR_COMMAND.GET_VP_REGISTERS, setRequest([[RIP, 0n], [RAX, 0n]]));
  const dv = new DataView(got.data.buffer, got.data.byteOffset);
  assert.equal([dv.getUint16(0, true), dv.getUint16(4, true), dv.getBigUint64(16 + 16, true), dv.getBigUint64(48 + 16, true)], [2, 0, 0x1234_5678n, 0xabcn]);
});

// sidecar vp.rs set_vp_registers sets registers one by one; the first the hypervisor refuses ends
// the loop with its HvStatus in the request header (has_error stays 0), earlier ones stay set.
test('SET_VP_REGISTERS with a code the partition has no u64 register for: status InvalidParameter, later registers untouched', () => {
  const vm = boot(presetConfig('numa'));
  const vp = vm.discovered.topology.vps.find((v) => !vm.kernel.online().includes(v.index))!.index;
  const before = hvByName(vm.hv.save()).vps[vp]!.registers;
  const r = command(vm, vp, SIDECAR_COMMAND.SET_VP_REGISTERS, setRequest([[RIP, 1n], [ES, 2n], [RAX, 3n]]));
  assert.is(r.hasError, false);
  assert.is(new DataView(r.data.buffer, r.data.byteOffset).getUint16(4, true), HV_STATUS_INVALID_PARAMETER);
  assert.equal(hvByName(vm.hv.save()).vps[vp]!.registers, { ...before, rip: 1n });
});

test.run();
