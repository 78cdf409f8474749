import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { presetConfig, topologyFromConfig, type VmConfig } from '../../lib/config/index.ts';
import type { NvmeState } from '../../lib/hcl/units/index.ts';
import { connectedServer } from '../../lib/hcl/units/vmbus-state.ts';
import { checkConsistency, type OracleInputs } from '../../harness/oracle.ts';

// The oracle on hand-made inputs: the saved and restored topology of the `numa` preset, one NVMe
// controller with admin queues in node 0's RAM and one I/O queue, all VPs in Linux.
const numa = presetConfig('numa');
const ram0 = numa.numa[0]!.memory[0]!;
const queue = (qid: number, targetVp: number) => ({ qid, size: 16, sqHead: 0, sqTail: 0, cqHead: 0, cqTail: 0, phase: true, vector: qid, targetVp, inFlight: [] });
const nvme: NvmeState = {
  controllers: [{ id: 'nvme0', cc: 0, csts: 0, aqa: 0, asq: BigInt(ram0.base + 0x1000), acq: BigInt(ram0.base + 0x5000), admin: queue(0, 0), ioQueues: [queue(1, 3)] }],
};
const inputs = (host: VmConfig, over: Partial<OracleInputs> = {}): OracleInputs => ({
  saved: topologyFromConfig(numa), savedVpCount: numa.vps.length, restored: topologyFromConfig(numa), nvme, vmbus: connectedServer([], []),
  linuxCpus: new Set(numa.vps.map((_, i) => i)), host, ...over,
});
const kinds = (i: OracleInputs) => checkConsistency(i).map((x) => `${x.kind}: ${x.message}`);

test('an unchanged host is consistent', () => {
  assert.equal(kinds(inputs(numa)), []);
});

test('a VP the snapshot has no state for, and state for a VP the host dropped', () => {
  assert.equal(kinds(inputs(numa, { savedVpCount: 62 })), [
    'vp-without-state: vp 62: the host has it, the snapshot has no saved state for it (it starts from reset)',
    'vp-without-state: vp 63: the host has it, the snapshot has no saved state for it (it starts from reset)',
  ]);
  assert.equal(kinds(inputs({ ...numa, vps: numa.vps.slice(0, 63) }, { restored: topologyFromConfig({ ...numa, vps: numa.vps.slice(0, 63) }) })), [
    'state-without-vp: vp 63: saved state for a vp the host no longer has',
  ]);
});

test('a VP whose APIC ID and vnode moved', () => {
  const vps = numa.vps.map((v, i) => (i === 4 ? { reg: 500, vnode: 3 } : v));
  assert.equal(kinds(inputs({ ...numa, vps })), [
    `vp-moved: vp 4: saved as apic id/mpidr 0x${numa.vps[4]!.reg.toString(16)}, the host now gives it 0x1f4`,
    `vp-moved: vp 4: saved on vnode ${numa.vps[4]!.vnode}, the host now puts it on vnode 3`,
  ]);
});

test('VTL0 RAM: a change under the admin queues is reported, one elsewhere is not', () => {
  const shrink = (n: number): VmConfig => ({ ...numa, numa: numa.numa.map((node, i) => (i === n ? { ...node, memory: node.memory.map((r) => ({ ...r, size: r.size - 0x10_0000 })) } : node)) });
  assert.equal(kinds(inputs(shrink(1))), []);
  const got = checkConsistency(inputs(shrink(0)));
  assert.equal(got.map((x) => x.kind), ['dma-target-moved', 'dma-target-moved']);
  assert.is(got[0]!.message, `nvme nvme0 (controller 0): admin submission queue at 0x${(ram0.base + 0x1000).toString(16)} is in vtl0 ram 0x${ram0.base.toString(16)}+0x${ram0.size.toString(16)} (vnode 0), which the host changed`);
  // A disabled controller has no DMA target.
  assert.equal(kinds(inputs(shrink(0), { nvme: { controllers: [{ ...nvme.controllers[0]!, admin: null, ioQueues: [] }] } })), []);
});

test('VTL0 RAM: a change under a VMBus GPADL is reported once per GPADL, at its first page there', () => {
  const shrink0 = { ...numa, numa: numa.numa.map((node, i) => (i === 0 ? { ...node, memory: node.memory.map((r) => ({ ...r, size: r.size - 0x10_0000 })) } : node)) };
  const pfn = BigInt(ram0.base / 4096 + 16);
  // Two pages in node 0's RAM (GpaRange {len 8192, offset 0} then the page numbers), as the guest describes them.
  const gpadl = { id: 7, channelId: 2, count: 1, buf: [8192n, pfn, pfn + 1n], state: 'accepted' as const };
  const vmbus = connectedServer([], [gpadl]);
  assert.equal(kinds(inputs(numa, { vmbus })), []);
  assert.equal(kinds(inputs(shrink0, { vmbus, nvme: { controllers: [] } })), [
    `dma-target-moved: vmbus channel 2: gpadl 7 page at 0x${(ram0.base + 0x10000).toString(16)} is in vtl0 ram 0x${ram0.base.toString(16)}+0x${ram0.size.toString(16)} (vnode 0), which the host changed`,
  ]);
});

test('MMIO and VTL2 RAM the paravisor kept from the saved state, against what the host offers', () => {
  const host = { ...numa, mmio: { ...numa.mmio, vtl0: [{ ...numa.mmio.vtl0[0]!, size: numa.mmio.vtl0[0]!.size - 0x1000 }, numa.mmio.vtl0[1]!] }, vtl2: { ...numa.vtl2, size: numa.vtl2.size * 2 } };
  const found = checkConsistency(inputs(host));
  assert.equal(found.map((x) => x.kind), ['mmio-differs', 'vtl2-ram-differs']);
  assert.match(found[0]!.message, /^vtl0 mmio: the paravisor uses \[.*\], the host offers \[.*\]$/);
  assert.equal(checkConsistency(inputs(host, { plant: 'oracle-ignores-mmio' })).map((x) => x.kind), ['vtl2-ram-differs'], 'the planted defect drops exactly the MMIO check');
});

test('an NVMe queue with commands in flight whose interrupt targets a sidecar CPU, or a CPU the host dropped', () => {
  const linuxCpus = new Set([0, 1, 2]);
  // Idle: restored on first use, its CPU onlined on demand (loader_defs: "functionally correct").
  assert.equal(kinds(inputs(numa, { linuxCpus })), []);
  const busy: NvmeState = { controllers: [{ ...nvme.controllers[0]!, ioQueues: [{ ...queue(1, 3), sqTail: 2, inFlight: [7, 8] }] }] };
  assert.equal(kinds(inputs(numa, { linuxCpus, nvme: busy })), ['queue-on-sidecar-cpu: nvme nvme0 (controller 0) queue 1: 2 commands in flight, their interrupt targets cpu 3, which starts in the sidecar']);
  assert.equal(kinds(inputs(numa, { nvme: busy })), [], 'in flight on a cpu that runs Linux');
  const three = { ...numa, vps: numa.vps.slice(0, 3) };
  assert.ok(kinds(inputs(three, { savedVpCount: 3 })).includes('queue-on-sidecar-cpu: nvme nvme0 (controller 0) queue 1: bound to cpu 3, which the host no longer has'));
});

test.run();
