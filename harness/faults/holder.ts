import { openStore } from '../../lib/store/index.ts';

/**
 * Lock-test child: `node --import tsx harness/faults/holder.ts STOREDIR`. Opens the store, prints
 * `held`, and on a `close` line on stdin writes one snapshot (`holder@N`), closes the store, prints
 * `closed` and exits. Test-only seam HCLCKPT_TEST_PLANT=release: lets go of the store right after
 * `held` while staying alive, the defect of a store that does not keep its lock.
 */

const dir = process.argv[2];
if (dir === undefined) {
  process.stderr.write('usage: holder.ts STOREDIR\n');
  process.exit(2);
}
const store = await openStore(dir);
const planted = process.env['HCLCKPT_TEST_PLANT'] === 'release';
if (planted) await store.close();
process.stdout.write('held\n');
let buf = '';
process.stdin.on('data', (d: Buffer) => {
  buf += d.toString();
  if (!buf.includes('close\n')) return;
  void (async () => {
    if (!planted) {
      await store.putSnapshot({ name: 'holder', parts: [{ name: 'note', bytes: new TextEncoder().encode(`written by pid ${process.pid}`) }] });
      await store.close();
    }
    process.stdout.write('closed\n');
    process.exit(0);
  })();
});
