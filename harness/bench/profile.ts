import { openStore } from '../../lib/store/index.ts';
import { scaledConfig } from './config.ts';
import { bootWithWorkload, restoreSnapshot, saveVm } from '../servicing.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Profiling driver for the bench's cycle case: `node --cpu-prof --import tsx harness/bench/profile.ts
 * [VPS] [CYCLES]` boots one VM and runs CYCLES save+restore cycles on a LevelDB store, so the
 * profile shows where a cycle's time goes.
 */
const vps = Number(process.argv[2] ?? 2048);
const cycles = Number(process.argv[3] ?? 5);
const vm = bootWithWorkload(scaledConfig(vps), { seed: 1, steps: 100 });
const dir = await mkdtemp(join(tmpdir(), 'hclckpt-profile-'));
const store = await openStore(dir);
try {
  for (let i = 0; i < cycles; i++) {
    const t0 = performance.now();
    const { id } = await saveVm(vm, store, { timeoutMs: 600_000 });
    const t1 = performance.now();
    await restoreSnapshot(store, id);
    const t2 = performance.now();
    vm.servicing.resume();
    process.stderr.write(`cycle ${i}: save ${(t1 - t0).toFixed(0)} ms, restore ${(t2 - t1).toFixed(0)} ms\n`);
  }
} finally {
  await store.close();
  await rm(dir, { recursive: true, force: true });
}
