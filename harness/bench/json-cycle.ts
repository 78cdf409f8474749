import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { PersistedPayload } from '../../lib/abi/index.ts';
import type { ServicingState } from '../../lib/state/index.ts';
import { boot, type Vm } from '../pipeline.ts';
import { captureVm, proofDifferences } from '../servicing.ts';
import { readJsonParts, writeJsonParts } from './baselines.ts';

/**
 * The JSON peer of a servicing cycle, the bench's `jsonCycle`: the same capture, the same boot
 * with the shim's checkpoint, the same rehydration and the same proof by saving again as
 * hclckpt's cycle, but every part goes to its own JSON file and back instead of into the store.
 */

/** One JSON cycle of `vm` through files in `dir` (removed afterwards); the VM runs on. */
export async function jsonCycle(vm: Vm, dir: string): Promise<{ bytes: number; proofOk: boolean }> {
  const saved = captureVm(vm, { timeoutMs: 600_000, correlationId: randomUUID() });
  vm.servicing.resume();
  const values = [
    { name: 'init', value: saved.state.initState },
    ...saved.state.units.map((u) => ({ name: `unit/${u.name}`, value: u.state })),
    { name: 'hv', value: saved.hv },
    { name: 'vtl0', value: saved.vtl0 },
    { name: 'persisted', value: saved.persisted },
    { name: 'igvm', value: vm.igvm },
    { name: 'config', value: vm.config },
    // What the store's manifest keeps as info.observed (the oracle compares against its topology).
    { name: 'observed', value: { topology: vm.discovered.topology, options: { ...vm.kernel.env }, usermodeVersion: vm.usermodeVersion } },
  ];
  try {
    const bytes = await writeJsonParts(dir, values);
    const back = await readJsonParts(dir, values.map((v) => v.name));
    const initState = back.get('init') as ServicingState['initState'];
    const units = saved.state.units.map((u) => ({ name: u.name, state: back.get(`unit/${u.name}`) }));
    const restored = boot(back.get('config') as Vm['config'], {
      igvm: back.get('igvm') as Uint8Array, persisted: { payload: back.get('persisted') as PersistedPayload, legacy: false },
    });
    const hv = back.get('hv');
    const vtl0 = back.get('vtl0');
    restored.units.vmbus.guest.restore(vtl0);
    restored.hv.restore(hv);
    restored.servicing.restore({ initState, units });
    restored.units.partition.applyBootRoles(new Set(restored.kernel.online()));
    const again = captureVm(restored, { timeoutMs: 600_000, correlationId: initState.correlationId ?? randomUUID() });
    restored.servicing.resume();
    const differences = proofDifferences(units, again.state.units, hv, again.hv, { before: vtl0, after: again.vtl0 });
    return { bytes, proofOk: differences.every((d) => d.allowed !== undefined) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
