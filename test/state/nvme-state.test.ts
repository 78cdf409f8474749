import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { presetConfig } from '../../lib/config/index.ts';
import { decodeCanonical } from '../../lib/state/codec.ts';
import { decodeFields, encodeFields } from '../../lib/state/fields.ts';
import { InitStateSchema } from '../../lib/state/init-state.ts';
import { NvmeSavedStateSchema } from '../../lib/state/nvme-state.ts';
import { bootWithWorkload, captureVm } from '../../harness/servicing.ts';

// Field numbers from openvmm: underhill_core servicing.rs `NvmeSavedState { nvme_state: 1 }`;
// nvme_manager/save_restore.rs `NvmeManagerSavedState { cpu_count: 1, nvme_disks: 2 }`,
// `NvmeSavedDiskConfig { pci_id: 1, driver_state: 2 }`; disk_nvme/nvme_driver driver.rs
// `save_restore`: NvmeDriverSavedState { identify_ctrl 1, device_id 2, namespaces 3, worker_data 4 },
// NvmeDriverWorkerSavedState { admin 1, io 2, qsize 3, max_io_queues 4, allow_lazy_restore 5 },
// QueuePairSavedState { mem_len 1, base_pfn 2, qid 3, sq_entries 4, cq_entries 5, handler_data 6 },
// IoQueueSavedState { cpu 1, iv 2, queue_data 3, unmapped 4 }, QueueHandlerSavedState { sq_state 1,
// cq_state 2, pending_cmds 3, aer_handler 4 }, SubmissionQueueSavedState { sqid 1, head 2, tail 3,
// committed_tail 4, len 5 }, CompletionQueueSavedState { cqid 1, head 2, committed_head 3, len 4,
// phase 5 }, PendingCommandsSavedState { commands 1, next_cid_high_bits 2, cid_key_bits 3 },
// PendingCommandSavedState { command 1 }, SavedNamespaceData { nsid 1, identify_ns 2 }.
const ID = '6b1e1f3c-2a4d-4e5f-8a9b-0c1d2e3f4a5b';
type Msg = Record<string, unknown>;
const keys = (m: unknown) => Object.keys(m as Msg);

test('a keep-alive save writes init_state.nvme_state (10000) with the real field numbers at every level', () => {
  const vm = bootWithWorkload(presetConfig('numa'), null);
  vm.units.nvme.enable(0, 0x10_0000n);
  vm.units.nvme.submit(0, vm.units.nvme.createIoQueue(0, 5), 0x77);
  const init = captureVm(vm, { timeoutMs: 30_000, correlationId: ID }).state.initState;
  vm.servicing.resume();
  const raw = decodeCanonical(encodeFields(InitStateSchema, init), 'init') as Msg;
  const manager = (raw['10000'] as Msg)['1'] as Msg;
  assert.equal(keys(raw['10000']), ['1']);
  assert.equal(keys(manager), ['1', '2']);
  assert.is(manager['1'], 64, 'cpu_count: the VP count');
  const disk = (manager['2'] as Msg[])[0]!;
  assert.equal([keys(disk), disk['1']], [['1', '2'], 'nvme0']);
  const driver = disk['2'] as Msg;
  assert.equal(keys(driver), ['1', '2', '3', '4']);
  assert.equal([(driver['1'] as Uint8Array).length, driver['2']], [4096, 'nvme0']);
  assert.equal(keys((driver['3'] as Msg[])[0]), ['1', '2']);
  const worker = driver['4'] as Msg;
  assert.equal(keys(worker), ['1', '2', '3', '4'], 'allow_lazy_restore (5) is None');
  const admin = worker['1'] as Msg;
  assert.equal(keys(admin), ['1', '2', '3', '4', '5', '6']);
  assert.equal([admin['1'], admin['2'], admin['3'], admin['4'], admin['5']], [BigInt((4 + 1 + 64) * 4096), 0x100n, 0, 256, 256]);
  assert.equal(keys(admin['6']), ['1', '2', '3', '4'], 'the admin queue has an aer_handler');
  const io = (worker['2'] as Msg[])[0]!;
  assert.equal(keys(io), ['1', '2', '3', '4']);
  assert.equal([io['1'], io['2'], io['4']], [5, 1, false]);
  const handler = (io['3'] as Msg)['6'] as Msg;
  assert.equal(keys(handler), ['1', '2', '3']);
  assert.equal(handler['1'], { '1': 1, '2': 0, '3': 1, '4': 1, '5': 256 }, 'sq: sqid, head, tail, committed_tail, len');
  assert.equal(handler['2'], { '1': 1, '2': 0, '3': 0, '4': 256, '5': true }, 'cq: cqid, head, committed_head, len, phase');
  const pending = handler['3'] as Msg;
  assert.equal([keys(pending), pending['2'], pending['3']], [['1', '2', '3'], 0, 10]);
  const command = ((pending['1'] as Msg[])[0]!['1']) as Uint8Array;
  assert.equal([command.length, command[0], command[2]! | (command[3]! << 8)], [64, 0x02, 0x77], 'a Read with its CID in CDW0 bits 16..31');
  assert.equal(decodeFields(NvmeSavedStateSchema, encodeFields(NvmeSavedStateSchema, init.nvmeState), 'nvme'), init.nvmeState);
});

test('without keep-alive the init state has no nvme_state (field 10000 absent)', () => {
  const vm = bootWithWorkload(presetConfig('small'), null);
  vm.units.nvme.enable(0, 0x10_0000n);
  const init = captureVm(vm, { timeoutMs: 30_000, correlationId: ID }).state.initState;
  vm.servicing.resume();
  assert.is(init.nvmeState, undefined);
  assert.not.ok('10000' in (decodeCanonical(encodeFields(InitStateSchema, init), 'init') as Msg));
});

test.run();
