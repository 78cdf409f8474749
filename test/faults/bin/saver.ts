import { openLevelDb } from '../../../lib/store/backend.ts';
import { SnapshotStore, type StoreDb } from '../../../lib/store/index.ts';
import { scaledConfig } from '../../../harness/bench/config.ts';
import { bootWithWorkload, saveVm } from '../../../harness/servicing.ts';
import { runWorkload } from '../../../harness/workload.ts';

/**
 * Crash-test child: `node --import tsx test/faults/bin/saver.ts STOREDIR [VPS] [SEED] [nonatomic]`.
 * Boots a VM, prints `booted`, waits for `go` on stdin (the parent pipelines the next child's boot
 * with its checks of the store), opens the store, prints `ready`, then saves snapshots in a loop,
 * one workload step apart, printing `saved <id>` after each commit, until it is killed. A snapshot
 * it printed is one the store promised to keep.
 *
 * `nonatomic` (the planted defect, passed by the test) splits each of the store's atomic batches
 * that holds blobs into two writes, manifest and names first, and crashes between them: the
 * ordering bug the one-batch commit exists to prevent, on the real save path, at the one moment
 * it shows — so the check that must catch it sees it on every run.
 */

type Op = { type: 'put' | 'del'; key: Uint8Array; value?: Uint8Array; sublevel: unknown };

/** Plants the ordering bug in `db`'s chained batches; `isBlobs` tells the blob sublevel. */
function plantManifestFirst(db: StoreDb, isBlobs: (sublevel: unknown) => boolean): void {
  const real = db.batch.bind(db);
  const write = (ops: Op[]): Promise<void> => real(ops as never) as Promise<void>;
  db.batch = (() => {
    const ops: Op[] = [];
    const chained = {
      put: (key: Uint8Array, value: Uint8Array, o: { sublevel: unknown }) => (ops.push({ type: 'put', key, value, sublevel: o.sublevel }), chained),
      del: (key: Uint8Array, o: { sublevel: unknown }) => (ops.push({ type: 'del', key, sublevel: o.sublevel }), chained),
      write: async () => {
        const blobs = ops.filter((op) => isBlobs(op.sublevel));
        await write(ops.filter((op) => !isBlobs(op.sublevel)));
        if (blobs.length === 0) return;
        process.kill(process.pid, 'SIGKILL'); // the crash between the two writes
        await write(blobs);
      },
    };
    return chained;
  }) as never;
}

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

const [dir, vpsArg = '256', seedArg = '1', plant] = process.argv.slice(2);
if (dir === undefined || (plant !== undefined && plant !== 'nonatomic')) {
  process.stderr.write('usage: saver.ts STOREDIR [VPS] [SEED] [nonatomic]\n');
  process.exit(2);
}
const vm = bootWithWorkload(scaledConfig(Number(vpsArg)), { seed: Number(seedArg), steps: 50 });
process.stdout.write('booted\n');
await go();
const db = await openLevelDb(dir);
let blobs: unknown;
if (plant === 'nonatomic') plantManifestFirst(db, (s) => s === blobs);
const store = await SnapshotStore.open({ db, dir });
blobs = store.sub.blobs;
process.stdout.write('ready\n');
for (let n = 0; ; n++) {
  runWorkload(vm.units, vm.hv, { seed: Number(seedArg) * 1000 + n, steps: 1 });
  const id = (await saveVm(vm, store, { name: 'crash' })).id;
  vm.servicing.resume();
  process.stdout.write(`saved ${id}\n`);
}
