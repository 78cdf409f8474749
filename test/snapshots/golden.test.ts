import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSnapshot } from '../../lib/snapshot/decode.ts';
import { defaultRegistry } from '../../lib/snapshot/registry.ts';
import type { InitState } from '../../lib/state/init-state.ts';
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
        // Restored onto the host it was saved on. The goldens hold the model's old persisted
        // record, which listed only CPUs with NVMe I/O in flight (no cpus_with_mapped_interrupts_no_io),
        // so idle queues' CPUs may start in the sidecar: the only thing the oracle may report.
        // Saved again (the real payload) and restored, nothing is left.
        assert.equal([...new Set(r.inconsistencies.map((x) => x.kind))].filter((k) => k !== 'queue-on-sidecar-cpu'), []);
        const again = await restoreSnapshot(store, (await saveVm(r.vm, store, { parent: imported.id })).id);
        assert.equal(again.inconsistencies, []);
        const registry = defaultRegistry();
        // Each unit upgraded, then units of older releases turned into today's set by the unit-set steps.
        const upgraded = Object.entries(decoded.units).map(([name, u]) => ({ name, state: registry.upgrade(name, u.state, u.generation) }));
        for (const { name, state } of registry.toCurrentSet({ units: upgraded, init: decoded.init as InitState }).units) {
          const unit = r.vm.units.all.find((x) => x.name === name);
          if (name === 'vp') continue; // roles are re-derived by the boot (see the proof rule)
          assert.equal(unit?.save(), state, `${name} after upgrade`);
        }
        assert.equal(r.vm.discovered.topology, (decoded.observed as { topology: unknown }).topology);
      } finally {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
}

test.run();
