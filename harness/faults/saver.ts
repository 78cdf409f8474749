import { openStore, type SnapshotStore } from '../../lib/store/index.ts';
import { scaledConfig } from '../bench/config.ts';
import { bootWithWorkload, captureVm, saveVm } from '../servicing.ts';
import { encodeParts } from '../../lib/snapshot/parts.ts';
import { runWorkload } from '../workload.ts';

/**
 * Crash-test child: `node --import tsx harness/faults/saver.ts STOREDIR [VPS] [SEED]`. Boots a VM,
 * prints `booted`, waits for `go` on stdin (the parent pipelines the next child's boot with its
 * checks of the store), opens the store, prints `ready`, then
 * saves snapshots in a loop, one workload step apart, printing `saved <id>` after each commit,
 * until it is killed. A snapshot it printed is one the store promised to keep.
 *
 * Test-only seam HCLCKPT_TEST_PLANT=nonatomic: writes the manifest first and the blobs 100 ms later
 * in a second batch, the defect the store's one-batch commit exists to prevent.
 */

/** Resolves at the first `go` line on stdin: the parent has let go of the store. */
function go(): Promise<void> {
  return new Promise((resolve) => {
    let buf = '';
    process.stdin.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('go\n')) resolve();
    });
  });
}

/** The planted defect: manifest and name entry first, blobs in a later batch. */
async function saveNonAtomic(vm: ReturnType<typeof bootWithWorkload>, store: SnapshotStore, n: number): Promise<string> {
  const saved = captureVm(vm, { timeoutMs: 60_000, correlationId: crypto.randomUUID() });
  vm.servicing.resume();
  const parts = encodeParts(saved.state, saved.unitMeta, saved.hv, saved.persisted, vm.igvm);
  // Put a manifest whose blobs are withheld: store it with empty parts' bytes swapped out afterwards.
  const fake = await store.putSnapshot({ name: `planted-${n}`, parts: parts.map((p) => ({ ...p })) });
  const m = await store.getManifest(fake.id);
  const { keyOf } = await import('../../lib/store/keys.ts');
  // Withhold exactly the stored blobs (whole parts or chunks) this manifest references, as stored.
  const keys = m.parts.flatMap((p) => (p.chunks ?? [p]).map((c) => keyOf(c.sha256)));
  const values = await store.sub.blobs.getMany(keys);
  await store.sub.blobs.batch(keys.map((key) => ({ type: 'del' as const, key })));
  await new Promise((r) => setTimeout(r, 100));
  await store.sub.blobs.batch(keys.flatMap((key, i) => (values[i] === undefined ? [] : [{ type: 'put' as const, key, value: values[i]! }])));
  return fake.id;
}

const [dir, vpsArg = '256', seedArg = '1'] = process.argv.slice(2);
if (dir === undefined) {
  process.stderr.write('usage: saver.ts STOREDIR [VPS] [SEED]\n');
  process.exit(2);
}
const vm = bootWithWorkload(scaledConfig(Number(vpsArg)), { seed: Number(seedArg), steps: 50 });
process.stdout.write('booted\n');
await go();
const store = await openStore(dir);
const planted = process.env['HCLCKPT_TEST_PLANT'] === 'nonatomic';
process.stdout.write('ready\n');
for (let n = 0; ; n++) {
  runWorkload(vm.units, vm.hv, { seed: Number(seedArg) * 1000 + n, steps: 1 });
  const id = planted ? await saveNonAtomic(vm, store, n) : (await saveVm(vm, store, { name: 'crash' })).id;
  if (!planted) vm.servicing.resume();
  process.stdout.write(`saved ${id}\n`);
}
