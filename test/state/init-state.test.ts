import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { presetConfig } from '../../lib/config/index.ts';
import { decodeSnapshot } from '../../lib/snapshot/index.ts';
import { decodeCanonical } from '../../lib/state/codec.ts';
import { decodeFields, encodeFields } from '../../lib/state/fields.ts';
import { InitStateSchema, LegacyInitStateSchema, downgradeInit, upgradeLegacyInit, type InitState } from '../../lib/state/init-state.ts';
import { throwsHcl } from '../hcl/units/fixture.ts';
import { checkSchema } from '../../lib/state/unit.ts';
import { readArchive } from '../../lib/store/index.ts';
import { bootWithWorkload, captureVm } from '../../harness/servicing.ts';
import { encodeParts } from '../../lib/snapshot/parts.ts';

// Field numbers and types from openhcl/underhill_core/src/servicing.rs `ServicingInitState`
// (firmware_type 1, vm_stop_reference_time 2, correlation_id 3, emuplat 4, flush_logs_result 5,
// vmgs 6, overlay_shutdown_device 7, hibernate 8, nvme_state 10000, dma_manager_state 10001,
// vmbus_client 10002, mana_state 10003), `Firmware` (Uefi 1, Pcat 2, None 3), and
// emuplat/local_clock.rs `SavedState { offset_from_host_time_millis: i64 }` (field 1).
const ID = '6b1e1f3c-2a4d-4e5f-8a9b-0c1d2e3f4a5b';

test('the init part a save writes carries the real field numbers, with None left out', () => {
  const vm = bootWithWorkload(presetConfig('small'), null);
  const saved = captureVm(vm, { timeoutMs: 30_000, correlationId: ID });
  vm.servicing.resume();
  const part = encodeParts(saved.state, saved.unitMeta, saved.hv, saved.persisted, vm.igvm, saved.vtl0).find((p) => p.name === 'init')!;
  assert.equal(part.meta, { generation: 3, type: 'underhill.ServicingInitState' });
  const raw = decodeCanonical(part.bytes, 'init') as Record<string, unknown>;
  assert.equal(Object.keys(raw), ['1', '2', '3', '4', '7']);
  assert.is(raw['1'], 3, 'Firmware::None');
  assert.is(raw['3'], ID);
  assert.equal(raw['4'], { '1': { '1': 0n }, '3': [] }, 'emuplat: rtc_local_clock { offset 0 }, netvsp_state []');
  assert.is(raw['7'], false);
  assert.equal(decodeFields(InitStateSchema, part.bytes, 'init'), saved.state.initState);
  assert.not.ok('topology' in saved.state.initState, 'topology is not part of the init state');
});

test('every optional field round-trips under its number, the late additions at 10000..10003', () => {
  const full: InitState = {
    firmwareType: 'pcat', vmStopReferenceTime: 77n, correlationId: ID,
    emuplat: {
      rtcLocalClock: { offsetFromHostTimeMillis: -1500n },
      getBackedAdjustGpaRange: { baseSlot: 2, handles: Array.from({ length: 13 }, (_, i) => (i === 4 ? { remoteHandle: 9, range: { start: 0x1000n, end: 0x2000n }, gpaOffset: 0n, isRom: true } : null)) },
      netvspState: [{ instanceId: ID, directionToVtl0: [true, null, false], hiddenVtl0: true }],
      networkAdapterIndex: [{ macAddress: Uint8Array.of(0, 0x15, 0x5d, 1, 2, 3), adapterIndex: 1 }],
    },
    flushLogsResult: { durationUs: 12n, error: 'timed out' },
    vmgs: { state: Uint8Array.of(1), diskMetadata: Uint8Array.of(2) },
    overlayShutdownDevice: true,
    hibernate: { token: 5n },
    nvmeState: { nvmeState: { cpuCount: 2, nvmeDisks: [] } }, dmaManagerState: Uint8Array.of(4), vmbusClient: Uint8Array.of(5), manaState: [Uint8Array.of(6)],
  };
  checkSchema('init', InitStateSchema, full);
  const bytes = encodeFields(InitStateSchema, full);
  assert.equal(Object.keys(decodeCanonical(bytes, 'init') as object), ['1', '2', '3', '4', '5', '6', '7', '8', '10000', '10001', '10002', '10003']);
  assert.equal(decodeFields(InitStateSchema, bytes, 'init'), full);
});

test('a generation-2 init state upgrades: observed fields move out, linux-direct becomes none, ns become ms', () => {
  const old = {
    firmwareType: 'linux-direct', vmStopReferenceTime: 1n, correlationId: ID, topology: bootWithWorkload(presetConfig('small'), null).discovered.topology,
    options: { OPENHCL_SIDECAR: 'on' }, usermodeVersion: '1.0.0', emuplat: { rtcLocalClock: { offsetNs: -2_500_000n } },
  };
  checkSchema('old', LegacyInitStateSchema, old);
  const { init, observed } = upgradeLegacyInit(old);
  assert.equal(init, { firmwareType: 'none', vmStopReferenceTime: 1n, correlationId: ID, emuplat: { rtcLocalClock: { offsetFromHostTimeMillis: -2n }, netvspState: [] }, overlayShutdownDevice: false });
  assert.equal(observed, { topology: old.topology, options: old.options, usermodeVersion: '1.0.0' });
  checkSchema('new', InitStateSchema, init);
});

test('save --generation 1|2: the init state goes back to the name-keyed form and upgrades to the same value', () => {
  const init: InitState = { firmwareType: 'uefi', vmStopReferenceTime: 9n, correlationId: ID, emuplat: { rtcLocalClock: { offsetFromHostTimeMillis: -7n }, netvspState: [] }, overlayShutdownDevice: false };
  const observed = { topology: bootWithWorkload(presetConfig('small'), null).discovered.topology, options: { A: 'b' }, usermodeVersion: '2.0.0' };
  const old = downgradeInit(init, observed);
  checkSchema('old', LegacyInitStateSchema, old);
  assert.is(old.emuplat.rtcLocalClock.offsetNs, -7_000_000n);
  assert.equal(upgradeLegacyInit(old), { init, observed });
  throwsHcl(() => downgradeInit({ ...init, hibernate: { token: 1n } }, observed), 'STATE_GENERATION', 'init state: cannot write generation 1-2: it holds hibernate');
  const { correlationId: _id, ...anonymous } = init;
  throwsHcl(() => downgradeInit(anonymous, observed), 'STATE_GENERATION', 'no correlationId');
});

test('golden gen2 decodes: init in the current shape, observed topology from the old init state', async () => {
  const d = decodeSnapshot(await readArchive('snapshots/gen2/small.hclsnap'));
  checkSchema('init', InitStateSchema, d.init);
  const record = JSON.parse(readFileSync('snapshots/gen2/small.json', 'utf8')) as { summary: { topology: { vps: number } } };
  assert.is((d.observed as { topology: { vps: unknown[] } }).topology.vps.length, record.summary.topology.vps);
});

test.run();
