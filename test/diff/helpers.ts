import type { DecodedSnapshot } from '../../lib/diff/index.ts';
import { createUnits, type HclUnits } from '../../lib/hcl/units/index.ts';
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
  return { manifest: { id: `${seq}`.padStart(64, '0'), name, seq, tool: '0.1.0', info: { generation: 1, ...info } }, units: out, init: initOf(units) };
}

/** Units with NVMe controller 0 enabled and one I/O queue on VP 1: a booted driver. */
export function bootedUnits(): HclUnits {
  const u = freshUnits();
  u.nvme.enable(0, 0x1000n);
  u.nvme.createIoQueue(0, 1);
  return u;
}
