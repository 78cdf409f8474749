import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nvmeInterruptState, nvmeIoQueues, persistedInfo, type IoQueueIrq } from '../../lib/hcl/index.ts';
import { presetConfig } from '../../lib/config/index.ts';
import { boot } from '../../harness/pipeline.ts';

// Ported from openvmm openhcl/underhill_core/src/nvme_manager/save_restore_helpers.rs, mod tests:
// each disk is a list of I/O queues given as (cpu, has outstanding I/O).
const disks = (specs: Array<Array<[number, boolean]>>) => specs.map((qs) => ({ io: qs.map(([cpu, busy]): IoQueueIrq => ({ cpu, pendingCommands: busy ? 1 : 0 })) }));

test('nvme_interrupt_state: returns_empty_when_state_absent', () => {
  assert.equal(nvmeInterruptState(undefined), { cpusWithMappedInterruptsNoIo: [], cpusWithOutstandingIo: [] });
});

test('nvme_interrupt_state: collects_unique_sorted_vps_and_outstanding_subset', () => {
  const r = nvmeInterruptState(disks([[[2, false], [1, true]], [[1, false], [3, true]], [[5, false], [2, false]]]));
  assert.equal(r.cpusWithMappedInterruptsNoIo, [2, 5]);
  assert.equal(r.cpusWithOutstandingIo, [1, 3]);
});

test('nvme_interrupt_state: reports_outstanding_if_any_queue_pending_for_vp', () => {
  assert.equal(nvmeInterruptState(disks([[[4, false], [4, true]]])), { cpusWithMappedInterruptsNoIo: [], cpusWithOutstandingIo: [4] });
});

test('nvme_interrupt_state: handles_state_with_no_disks', () => {
  assert.equal(nvmeInterruptState([]), { cpusWithMappedInterruptsNoIo: [], cpusWithOutstandingIo: [] });
});

test('nvme_interrupt_state: the admin queue is not looked at (it iterates worker_data.io only)', () => {
  const vm = boot(presetConfig('numa'));
  const nvme = vm.units.nvme;
  nvme.enable(0, 0x1000n);
  nvme.submit(0, 0, 3); // a command in flight on the admin queue
  assert.is(nvme.save(true)!.nvmeDisks[0]!.driverState.workerData.admin!.handlerData.pendingCmds.commands.length, 1);
  assert.equal(nvmeInterruptState(nvmeIoQueues(nvme.save(true))), { cpusWithMappedInterruptsNoIo: [], cpusWithOutstandingIo: [] });
  const idle = nvme.createIoQueue(0, 9);
  const busy = nvme.createIoQueue(0, 37);
  nvme.submit(0, busy, 1);
  assert.ok(idle !== busy);
  assert.equal(nvmeInterruptState(nvmeIoQueues(nvme.save(true))), { cpusWithMappedInterruptsNoIo: [9], cpusWithOutstandingIo: [37] });
  // No NVMe manager state (keep-alive off): nvme_interrupt_state(None) is empty.
  assert.equal(nvmeInterruptState(nvmeIoQueues(nvme.save(false))), { cpusWithMappedInterruptsNoIo: [], cpusWithOutstandingIo: [] });
});

test('write_persisted_info: memory and MMIO entries of the parsed map, with their types', () => {
  const small = presetConfig('small');
  const vm = boot(small);
  const p = persistedInfo(vm.discovered.partitionMemoryMap, { cpusWithMappedInterruptsNoIo: [1], cpusWithOutstandingIo: [] });
  const map = vm.discovered.partitionMemoryMap;
  assert.is(p.partitionMemory.length + p.partitionMmio.length, map.length);
  assert.equal(p.partitionMmio.map((m) => m.vtlType).sort(), map.filter((e) => e.vtlType.endsWith('_MMIO')).map((e) => (e.vtlType === 'VTL0_MMIO' ? 5 : 6)).sort());
  // The header page at the start of VTL2 and 19 protobuf pages after it: the first 20 pages of the
  // loader's 2 MiB region (vm/loader/src/paravisor.rs; openhcl_boot dt/mod.rs PERSISTED_REGION_SIZE).
  const vtl2 = BigInt(small.vtl2.base);
  assert.equal(p.partitionMemory.filter((m) => m.vtlType === 11).map((m) => [m.base, m.size]), [[vtl2, 0x1000n]]); // VTL2_PERSISTED_STATE_HEADER
  assert.equal(p.partitionMemory.filter((m) => m.vtlType === 12).map((m) => [m.base, m.size]), [[vtl2 + 0x1000n, 19n * 0x1000n]]); // VTL2_PERSISTED_STATE_PROTOBUF
  assert.equal(p.cpusWithMappedInterruptsNoIo, [1]);
});

test.run();
