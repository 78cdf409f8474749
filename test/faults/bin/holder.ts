import { openStore } from '../../../lib/store/index.ts';

/**
 * Lock-test child: `node --import tsx test/faults/bin/holder.ts STOREDIR [release]`. Opens the
 * store, prints `held`, and on a `close` line on stdin writes one snapshot (`holder@N`), closes the
 * store, prints `closed` and exits. With `release` (the planted defect, passed by the test) it lets
 * go of the store right after `held` while staying alive, as a store that does not keep its lock
 * would, and opens it again only to write its snapshot.
 */

const [dir, plant] = process.argv.slice(2);
if (dir === undefined || (plant !== undefined && plant !== 'release')) {
  process.stderr.write('usage: holder.ts STOREDIR [release]\n');
  process.exit(2);
}
let store = await openStore(dir);
if (plant === 'release') await store.close();
process.stdout.write('held\n');
let buf = '';
process.stdin.on('data', (d: Buffer) => {
  buf += d.toString();
  if (!buf.includes('close\n')) return;
  void (async () => {
    if (plant === 'release') store = await openStore(dir);
    await store.putSnapshot({ name: 'holder', parts: [{ name: 'note', bytes: new TextEncoder().encode(`written by pid ${process.pid}`) }] });
    await store.close();
    process.stdout.write('closed\n');
    process.exit(0);
  })();
});
