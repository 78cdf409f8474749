import type { DecodedSnapshot } from '../../lib/diff/index.ts';
import { SERIAL_STEP, VMBUS_STEP, createUnits, withLegacyRings, type HclUnits, type SerialState, type VmbusStateV3 } from '../../lib/hcl/units/index.ts';
import type { InitState } from '../../lib/state/init-state.ts';
import { testContext } from '../hcl/units/fixture.ts';

/** Fresh units of the shared unit-test partition (4 VPs, two NVMe controllers, two UARTs). */
export function freshUnits(): HclUnits {
  return createUnits(testContext());
}

/** Where the diff names the handler data of controller 0's first I/O queue inside the init state. */
export const IO0 = 'init.nvmeState.nvmeState.nvmeDisks[0].driverState.workerData.io[0].queueData.handlerData';

/** The init state a save with NVMe keep-alive on writes: the NVMe manager's state inside. */
export function initOf(units: HclUnits): InitState {
  return {
    firmwareType: 'none', vmStopReferenceTime: 0n, emuplat: { rtcLocalClock: { offsetFromHostTimeMillis: 0n }, netvspState: [] }, overlayShutdownDevice: false,
    nvmeState: { nvmeState: units.nvme.save(true)! },
  };
}

/** Saves every unit and the init state (keep-alive on) into the decoded snapshot form, as the pipeline would write them. */
export function decodedOf(units: HclUnits, info: Record<string, unknown> = {}, name = 'vm', seq = 1): DecodedSnapshot {
  const out: DecodedSnapshot['units'] = {};
  for (const u of units.all) out[u.name] = { package: u.package, generation: u.generation, state: u.save() };
  return { manifest: { id: `${seq}`.padStart(64, '0'), name, seq, tool: '0.1.0', info: { generation: 1, ...info } }, units: out, init: initOf(units), vtl0: units.vmbus.guest.save() };
}

/** Units with NVMe controller 0 enabled and one I/O queue on VP 1: a booted driver. */
export function bootedUnits(): HclUnits {
  const u = freshUnits();
  u.nvme.enable(0, 0x1000n);
  u.nvme.createIoQueue(0, 1);
  return u;
}

/** The VMBus server as the retired `vmbus.server.channels` unit of generation 3 held it, ring positions included. */
export function legacyVmbus(units: HclUnits): VmbusStateV3 {
  const old = VMBUS_STEP.down(new Map([['vmbus', units.vmbus.save()]]), {} as InitState).units.get('vmbus.server.channels') as VmbusStateV3;
  return withLegacyRings(old, units.vmbus.guest.save());
}

/** The UARTs as the retired `serial.16550` unit of generation 3 held them (the generation-4 step run backwards). */
export function legacySerial(units: HclUnits): SerialState {
  const out = SERIAL_STEP.down(new Map(units.serial.map((u) => [u.name, u.save()])), {} as InitState);
  return out.units.get('serial.16550') as SerialState;
}
