import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ByteWriter } from '../../lib/bytes/index.ts';
import { isHclError } from '../../lib/errors.ts';
import { GuestMemory } from '../../lib/memory/index.ts';
import { SidecarDispatcher, startSidecar } from '../../lib/sidecar/index.ts';
import {
  CONTROL, CPU_STATUS, SIDECAR_COMMAND, decodeSidecarOutput, decodeSidecarParams, encodeSidecarParams,
  type SidecarParams,
} from '../../lib/abi/index.ts';

const params: SidecarParams = {
  hypercallPage: 0x1000n, enableLogging: true,
  nodes: [{ memoryBase: 0x10_0000n, memorySize: BigInt((1 + 13 * 4) * 4096), baseVp: 0, vpCount: 4 },
    { memoryBase: 0x20_0000n, memorySize: BigInt((1 + 13 * 2) * 4096), baseVp: 4, vpCount: 2 }],
  startInSidecar: [1, 2, 3, 5],
};

function started() {
  const memory = new GuestMemory();
  const output = startSidecar(memory, params, 0x30_0000n);
  return { memory, output, d: new SidecarDispatcher(memory, params, output) };
}

test('SidecarParams round trip; SidecarOutput in memory', () => {
  assert.equal(decodeSidecarParams(encodeSidecarParams(params)), params);
  const { memory, output } = started();
  assert.equal(decodeSidecarOutput(memory.read(0x30_0000n, 4096), 2), output);
  assert.equal(output.nodes[1], { controlPage: 0x20_0000n, shmemBase: 0x20_1000n, shmemSize: 4n * 4096n });
});

test('control page bytes: header fields and per-CPU status (base VP in Linux = REMOVED)', () => {
  const { memory } = started();
  const page = memory.read(0x20_0000n, 4096);
  const dv = new DataView(page.buffer);
  assert.equal([CONTROL.index, CONTROL.baseCpu, CONTROL.cpuCount].map((o) => dv.getUint32(o, true)), [1, 4, 2]);
  assert.equal([...page.subarray(CONTROL.cpuStatus, CONTROL.cpuStatus + 3)], [CPU_STATUS.REMOVED, CPU_STATUS.IDLE, 0]);
  assert.equal([...memory.read(0x10_0000n + BigInt(CONTROL.cpuStatus), 4)], [0, 1, 1, 1]);
});

test('dispatch: SET then GET registers, TRANSLATE_GVA, RUN_VP intercept; attention and IPIs counted', () => {
  const { d } = started();
  d.submit(2, SIDECAR_COMMAND.SET_VP_REGISTERS, new ByteWriter(32).u32(1).u32(0).u32(0x11).u32(0).u64(0xabcdn).finish());
  assert.is(d.status(2), 'RUN');
  assert.is(d.step(2), 'IDLE');
  assert.is(d.needsAttention(2), 1);
  d.clearAttention(2);
  d.submit(2, SIDECAR_COMMAND.GET_VP_REGISTERS, new ByteWriter(8).u32(1).u32(0x11).finish());
  d.step(2);
  const v = new DataView(d.response(2).data.buffer);
  assert.equal([v.getUint32(0, true), v.getBigUint64(4, true)], [1, 0xabcdn]);
  d.submit(3, SIDECAR_COMMAND.TRANSLATE_GVA, new ByteWriter(16).u64(0x7000n).u64(0).finish());
  d.step(3);
  assert.is(new DataView(d.response(3).data.buffer).getBigUint64(8, true), 0x7000n);
  d.submit(1, SIDECAR_COMMAND.RUN_VP);
  d.step(1);
  assert.is(new DataView(d.response(1).intercept.buffer).getUint32(0, true), 0x8000_0001);
  assert.is(d.ipis.length, 4);
  d.submit(1, 99);
  d.step(1);
  assert.equal([d.response(1).hasError, d.response(1).error], [true, 'unknown command 99']);
});

test('dispatch: STOP ends a run; removeCpu is one-way and refuses non-sidecar CPUs', () => {
  const { d } = started();
  d.submit(5, SIDECAR_COMMAND.RUN_VP);
  d.stop(5);
  assert.is(d.step(5), 'IDLE');
  assert.is(d.removeCpu(5), 5);
  assert.is(d.status(5), 'REMOVED');
  for (const [vp, text] of [[5, 'cannot remove in state REMOVED'], [0, 'cannot remove in state REMOVED'], [9, 'belongs to no sidecar node']] as const) {
    try {
      d.removeCpu(vp);
      assert.unreachable();
    } catch (e) {
      assert.ok(isHclError(e, 'SIDECAR_BAD_STATE'));
      assert.ok((e as Error).message.includes(text), (e as Error).message);
    }
  }
});

test.run();
