import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSnapshot } from '../../lib/snapshot/decode.ts';
import { defaultRegistry } from '../../lib/snapshot/registry.ts';
import { currentUnitSet } from '../../lib/snapshot/current.ts';
import type { InitState } from '../../lib/state/index.ts';
import { withoutRoles } from '../hcl/units/fixture.ts';
import { openStore, readArchive } from '../../lib/store/index.ts';
import { restoreSnapshot, saveVm } from '../../harness/servicing.ts';
import { GOLDEN_DIR, GOLDEN_PRESETS, currentGoldenGeneration, goldenGenerations, goldenSummary, type GoldenRecord } from '../../snapshots/goldens.ts';

test('every generation up to the current one has a golden set', () => {
  const gens = goldenGenerations();
  assert.equal(gens, Array.from({ length: currentGoldenGeneration() }, (_, i) => i + 1));
});

for (const generation of goldenGenerations()) {
  for (const preset of GOLDEN_PRESETS) {
    const base = join(GOLDEN_DIR, `gen${generation}`, preset);
    test(`golden gen${generation}/${preset} decodes to its recorded summary and restores with proof`, async () => {
      const record = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as GoldenRecord;
      const archive = await readArchive(`${base}.hclsnap`);
      const decoded = decodeSnapshot(archive);
      assert.equal(goldenSummary(decoded), record.summary);
      assert.is(record.summary.generation, generation);
      assert.ok(Object.values(record.summary.units).every((u) => u.generation <= generation));

      // Real LevelDB: import verifies the archive, then restore reloads its IGVM and boots again.
      const dir = mkdtempSync(join(tmpdir(), 'hclckpt-golden-'));
      const store = await openStore(dir);
      try {
        const imported = await store.importSnapshot(`${base}.hclsnap`);
        assert.is(imported.id, record.summary.id);
        const r = await restoreSnapshot(store, imported.id);
        assert.ok(r.proof.ok, JSON.stringify(r.proof.differences.slice(0, 3), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
        // Restored onto the host it was saved on: consistent. The goldens hold the model's old
        // persisted record (no cpus_with_mapped_interrupts_no_io), so idle queues' CPUs may start
        // in the sidecar, which OpenHCL handles (README "Model vs OpenHCL", the oracle). Saved
        // again (the real payload) and restored, still nothing.
        assert.equal(r.inconsistencies, []);
        const again = await restoreSnapshot(store, (await saveVm(r.vm, store, { parent: imported.id })).id);
        assert.equal(again.inconsistencies, []);
        // Each unit upgraded, then older releases' units merged into today's (vp + synic → partition).
        const registry = defaultRegistry();
        const upgraded = Object.entries(decoded.units).map(([name, u]) => ({ name, state: registry.upgrade(name, u.state, u.generation) }));
        const today = registry.toCurrentSet({ units: upgraded, init: decoded.init as InitState }).units;
        assert.equal(today.map((u) => u.name).sort(), r.vm.units.all.map((u) => u.name).sort());
        // Roles are re-derived by the boot (see the proof rule): each VP's role byte is left out.
        for (const { name, state } of today) {
          const live = r.vm.units.all.find((x) => x.name === name)?.save();
          if (name === 'partition') assert.equal(withoutRoles(live), withoutRoles(state), 'partition after upgrade');
          else assert.equal(live, state, `${name} after upgrade`);
        }
        // The NVMe manager holds what the snapshot's NVMe state says, the nvme unit of generations
        // 1-3 brought into the init state by the generation-4 step; none (keep-alive off): fresh.
        const set = currentUnitSet({
          units: Object.entries(decoded.units).map(([name, u]) => ({ name, state: u.state })),
          unitMeta: new Map(Object.entries(decoded.units).map(([name, u]) => [name, { package: u.package, generation: u.generation }])),
          init: decoded.init as InitState,
          vtl0: decoded.vtl0,
        });
        const nvme = set.init.nvmeState?.nvmeState;
        if (nvme === undefined) assert.equal(r.vm.units.nvme.view(), r.vm.units.nvme.defaultState());
        else assert.equal(r.vm.units.nvme.save(true)?.nvmeDisks, nvme.nvmeDisks);
        assert.is(nvme !== undefined, generation < 4 || record.config.keepAlive.nvme, 'generation 4 saves NVMe state only under keep-alive');
        assert.equal(r.vm.discovered.topology, (decoded.observed as { topology: unknown }).topology);
      } finally {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
}

test.run();
