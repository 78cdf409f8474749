import * as assert from 'uvu/assert';
import type { Topology } from '../../../lib/config/topology.ts';
import { isHclError, type HclErrorCode } from '../../../lib/errors.ts';
import { VP_OFFSET, type PartitionState, type UnitContext } from '../../../lib/hcl/units/index.ts';

/** Asserts that `fn` throws an HclError with `code` whose message contains `message`. */
export function throwsHcl(fn: () => unknown, code: HclErrorCode, message: string): void {
  try {
    fn();
  } catch (e) {
    assert.ok(isHclError(e, code), `expected ${code}, got ${isHclError(e) ? e.code : String(e)}`);
    assert.ok((e as Error).message.includes(message), `message ${JSON.stringify((e as Error).message)} lacks ${JSON.stringify(message)}`);
    return;
  }
  assert.unreachable(`expected ${code}`);
}

/**
 * A small partition for unit tests: `vps` VPs on two vnodes, two NVMe controllers, two UARTs and
 * three VMBus channels (two of them monitored kinds).
 */
export function testContext(vps = 4, arch: Topology['arch'] = 'x86_64'): UnitContext {
  return {
    topology: {
      arch,
      vps: Array.from({ length: vps }, (_, i) => ({ index: i, reg: i, vnode: i % 2 })),
      nodes: [
        { vnode: 0, memory: [{ base: 0, size: 0x4000_0000 }] },
        { vnode: 1, memory: [{ base: 0x1_0000_0000, size: 0x4000_0000 }] },
      ],
      vtl0Mmio: [{ base: 0xf000_0000, size: 0x0800_0000 }, { base: 0x10_0000_0000, size: 0x4000_0000 }],
      vtl2Mmio: [{ base: 0x10_4000_0000, size: 0x1000_0000 }],
      vtl2Ram: [{ base: 0x800_0000, size: 0x400_0000, vnode: 0 }],
    },
    devices: {
      nvme: [
        { id: 'nvme0', ioQueues: 4, queueDepth: 8, namespaces: [{ nsid: 1, blocks: 1024, blockSize: 512 }] },
        { id: 'nvme1', ioQueues: 2, queueDepth: 4, namespaces: [{ nsid: 1, blocks: 64, blockSize: 4096 }] },
      ],
      serial: [{ port: 'com1', baud: 115200 }, { port: 'com3', baud: 9600 }],
      channels: [
        { kind: 'storvsc', instanceId: 'ba6163d9-04a1-4d29-b605-72e2ffb1dc7f' },
        { kind: 'hvsock', instanceId: '00000000-0000-4000-8000-000000000001' },
        { kind: 'netvsc', instanceId: 'f8615163-df3e-46c5-913f-f2d2f965ed0e' },
      ],
    },
  };
}

/** A `partition` state's per-VP bytes with each role byte zeroed: what a restore keeps (the boot decides roles, see the proof rule). */
export function withoutRoles(s: unknown): Array<[number, Uint8Array]> {
  return (s as PartitionState).vps.map((v) => [v.vpIndex, v.data.map((b, i) => (i === VP_OFFSET.role ? 0 : b))]);
}
