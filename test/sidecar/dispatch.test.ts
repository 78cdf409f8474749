import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ByteWriter } from '../../lib/bytes/index.ts';
import { HclError } from '../../lib/errors.ts';
import { expectError } from '../shim/expect.ts';
import { GuestMemory } from '../../lib/memory/index.ts';
import { HV_STATUS_INVALID_PARAMETER, SidecarDispatcher, SimpleVpBackend, startSidecar } from '../../lib/sidecar/index.ts';
import {
  COMMAND, CONTROL, CPU_STATUS, SIDECAR_COMMAND, decodeSidecarOutput, decodeSidecarParams, encodeSidecarOutput, encodeSidecarParams,
  sidecarStartedVps, unspecifiedCpuState, type SidecarParams,
} from '../../lib/abi/index.ts';

const params: SidecarParams = {
  hypercallPage: 0x1000n, enableLogging: true, initialState: unspecifiedCpuState(),
  nodes: [{ memoryBase: 0x10_0000n, memorySize: BigInt((1 + 13 * 4) * 4096), baseVp: 0, vpCount: 4 },
    { memoryBase: 0x20_0000n, memorySize: BigInt((1 + 13 * 2) * 4096), baseVp: 4, vpCount: 2 }],
};

function started(p: SidecarParams = params) {
  const memory = new GuestMemory();
  const output = startSidecar(memory, p, 0x30_0000n);
  return { memory, output, d: new SidecarDispatcher(memory, p, output) };
}

// Offsets from openhcl sidecar_defs (repr(C)): SidecarParams node_count at 0x0c, nodes at 0x10
// (24 bytes each), initial_state PerCpuState at 0x10 + 128 × 24 = 0xc10 (bool, [bool; 400]).
test('SidecarParams bytes as sidecar_defs lays them out; round trip', () => {
  const p: SidecarParams = { ...params, initialState: { specified: true, startsCpu: unspecifiedCpuState().startsCpu.map((_, vp) => vp === 2 || vp === 399) } };
  const b = encodeSidecarParams(p);
  const dv = new DataView(b.buffer);
  assert.equal([b[0x8], dv.getUint32(0xc, true), dv.getUint32(0x10 + 24 + 16, true), dv.getUint32(0x10 + 24 + 20, true)], [1, 2, 4, 2]);
  assert.equal([b[0xc10], b[0xc11 + 2], b[0xc11 + 399], b[0xc11 + 400]], [1, 1, 1, 0]);
  assert.equal(decodeSidecarParams(b), p);
  b[0xc11] = 2;
  expectError(() => decodeSidecarParams(b), 'SIDECAR_INVALID', 'sidecar_starts_cpu[0] byte 2 is not a bool');
});

// SidecarOutput: error CommandError {len u8, buf [u8; 255]}, nodes at 0x100.
test('SidecarOutput bytes: 255-byte error, nodes at 0x100; read back from memory', () => {
  const { memory, output } = started();
  assert.equal(decodeSidecarOutput(memory.read(0x30_0000n, 4096), 2), output);
  assert.equal(output.nodes[1], { controlPage: 0x20_0000n, shmemBase: 0x20_1000n, shmemSize: 4n * 4096n });
  const page = encodeSidecarOutput({ error: 'x'.repeat(300), nodes: output.nodes });
  assert.is(page[0], 255);
  assert.is(new DataView(page.buffer).getBigUint64(0x100 + 24, true), 0x20_0000n);
  assert.is(decodeSidecarOutput(page, 2).error, 'x'.repeat(255));
});

// sidecar init.rs: base VP REMOVED (the kernel starts it), the other VPs RUN and, once up, IDLE.
test('control page bytes: header fields; base VP REMOVED, APs IDLE after start', () => {
  const { memory } = started();
  const page = memory.read(0x20_0000n, 4096);
  const dv = new DataView(page.buffer);
  assert.equal([CONTROL.index, CONTROL.baseCpu, CONTROL.cpuCount].map((o) => dv.getUint32(o, true)), [1, 4, 2]);
  assert.equal([...page.subarray(CONTROL.cpuStatus, CONTROL.cpuStatus + 3)], [CPU_STATUS.REMOVED, CPU_STATUS.IDLE, 0]);
  assert.equal([...memory.read(0x10_0000n + BigInt(CONTROL.cpuStatus), 4)], [0, 1, 1, 1]);
});

test('a specified initial state starts exactly the VPs it marks; a node left with none is refused', () => {
  const p: SidecarParams = { ...params, initialState: { specified: true, startsCpu: unspecifiedCpuState().startsCpu.map((_, vp) => vp === 3 || vp === 5) } };
  const { memory } = started(p);
  assert.equal([...memory.read(0x10_0000n + BigInt(CONTROL.cpuStatus), 4)], [0, 0, 0, 1]);
  assert.equal(sidecarStartedVps(p), [3, 5]);
  assert.equal(sidecarStartedVps(params), [1, 2, 3, 5]);
  const none: SidecarParams = { ...params, initialState: { specified: true, startsCpu: unspecifiedCpuState().startsCpu.map((_, vp) => vp === 5) } };
  expectError(() => started(none), 'SIDECAR_INVALID', 'sidecar node 0 (base_vp=0, vp_count=4) has no sidecar-started APs');
});

// GetSetVpRegisterRequest {count u16, target_vtl u8, rsvd u8, status u16, rsvd2 [u8; 10]} then
// HvRegisterAssoc {name u32, pad [u32; 3], value u128} (hvdef), at request_data 0x610.
function registerRequest(regs: Array<readonly [number, bigint]>): Uint8Array {
  const w = new ByteWriter(16 + 32 * regs.length).u16(regs.length).u8(0).u8(0).u16(0).zeros(10);
  for (const [name, value] of regs) w.u32(name).zeros(12).u64(value).u64(0n);
  return w.finish();
}

test('dispatch: SET then GET registers, TRANSLATE_GVA, RUN_VP; command word taken, attention and IPIs counted', () => {
  const { d, memory, output } = started();
  d.submit(2, SIDECAR_COMMAND.SET_VP_REGISTERS, registerRequest([[0x11, 0xabcdn]]));
  assert.is(d.status(2), 'RUN');
  assert.is(d.step(2), 'IDLE');
  assert.is(d.needsAttention(2), 1);
  const cmdPage = output.nodes[0]!.shmemBase + 2n * 2n * 4096n;
  assert.is(new DataView(memory.read(cmdPage, 4).buffer).getUint32(0, true), SIDECAR_COMMAND.NONE);
  d.clearAttention(2);
  d.submit(2, SIDECAR_COMMAND.GET_VP_REGISTERS, registerRequest([[0x11, 0n]]));
  d.step(2);
  const v = new DataView(d.response(2).data.buffer);
  assert.equal([v.getUint16(0, true), v.getUint16(4, true), v.getUint32(16, true), v.getBigUint64(32, true)], [1, 0, 0x11, 0xabcdn]);
  d.submit(3, SIDECAR_COMMAND.TRANSLATE_GVA, new ByteWriter(16).u64(0x7n).u64(0n).finish());
  d.step(3);
  const t = new DataView(d.response(3).data.buffer);
  assert.equal([t.getUint16(0, true), t.getUint32(16, true), t.getBigUint64(64, true)], [0, 0, 0x7n]);
  d.submit(1, SIDECAR_COMMAND.RUN_VP);
  d.step(1);
  // RunVpResponse {intercept: 1} and the intercept message at 0x410.
  assert.is(d.response(1).data[0], 1);
  assert.is(new DataView(d.response(1).intercept.buffer).getUint32(0, true), 0x8000_0001);
  assert.is(memory.read(output.nodes[0]!.shmemBase + 2n * 4096n + BigInt(COMMAND.intercept), 1)[0], 0x01);
  assert.is(d.ipis.length, 4);
  d.submit(1, 99);
  d.step(1);
  assert.equal([d.response(1).hasError, d.response(1).error], [true, 'unknown command 99']);
});

test('dispatch: a refused register stops the loop with status InvalidParameter; earlier ones are done; too many is an error', () => {
  const backend = new SimpleVpBackend();
  backend.setRegisters = (vp, regs) => {
    if (regs.some(([n]) => n === 0x99)) throw new HclError('HV_INVALID', 'no register 0x99');
    SimpleVpBackend.prototype.setRegisters.call(backend, vp, regs);
  };
  const memory = new GuestMemory();
  const output = startSidecar(memory, params, 0x30_0000n);
  const d = new SidecarDispatcher(memory, params, output, backend);
  // sidecar vp.rs set_vp_registers: status = the error, loop broken, has_error stays 0.
  d.submit(1, SIDECAR_COMMAND.SET_VP_REGISTERS, registerRequest([[0x21, 5n], [0x99, 1n], [0x22, 6n]]));
  d.step(1);
  assert.equal([backend.registers.get(1)?.get(0x21), backend.registers.get(1)?.get(0x22)], [5n, undefined]);
  assert.equal([d.response(1).hasError, new DataView(d.response(1).data.buffer).getUint16(4, true)], [false, HV_STATUS_INVALID_PARAMETER]);
  d.submit(1, SIDECAR_COMMAND.SET_VP_REGISTERS, new ByteWriter(16).u16(32).finish());
  d.step(1);
  assert.equal([d.response(1).hasError, d.response(1).error], [true, 'invalid register count: 32']);
  d.submit(1, SIDECAR_COMMAND.GET_VP_REGISTERS, new ByteWriter(16).u16(40).finish());
  d.step(1);
  assert.equal([d.response(1).hasError, d.response(1).error], [true, 'invalid register name count: 40']);
});

test('dispatch: STOP ends a run with RunVpResponse {intercept: 0}; removeCpu is one-way and refuses non-sidecar CPUs', () => {
  const backend = new SimpleVpBackend();
  backend.run = () => undefined as unknown as Uint8Array;
  const memory = new GuestMemory();
  const output = startSidecar(memory, params, 0x30_0000n);
  const d = new SidecarDispatcher(memory, params, output, backend);
  d.submit(5, SIDECAR_COMMAND.RUN_VP);
  assert.is(d.step(5), 'RUN');
  d.stop(5);
  assert.is(d.step(5), 'IDLE');
  assert.is(d.response(5).data[0], 0);
  assert.is(d.removeCpu(5), 5);
  assert.is(d.status(5), 'REMOVED');
  for (const [vp, text] of [[5, 'cannot remove in state REMOVED'], [0, 'cannot remove in state REMOVED'], [9, 'belongs to no sidecar node']] as const) {
    expectError(() => d.removeCpu(vp), 'SIDECAR_BAD_STATE', text);
  }
});

test.run();
