import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openStore } from '../../lib/store/index.ts';
import { restoreSnapshot } from '../../harness/servicing.ts';
import { SEED, codeOf, count, rng, nodeArgsFor, sleep, spawnNode, tempDir, type Child, type Rng } from './helpers.ts';

/**
 * Crash: a child process saves 32-VP snapshots (~0.2 MB; HCLCKPT_CRASH_VPS for larger) in a loop and is SIGKILLed 50–400 ms
 * after it opened the store. After every kill: verify finds nothing (new snapshots after each kill,
 * the whole store every 10th), every snapshot the child reported as saved is there, and the newest
 * reported snapshot plus one random earlier one restore with proof (a sample: restoring all of them
 * after every kill would take minutes).
 */

const TRIALS = count(50, 400);
const VPS = process.env['HCLCKPT_CRASH_VPS'] ?? '32';
/** Savers booting ahead of the one being killed: a saver's start (tsx + imports + boot) is ~1 s of CPU. */
const AHEAD = 2;
const SAVER = 'test/faults/bin/saver.ts';

/**
 * What the store must hold after a kill; returns the problems found. Snapshots that appeared since
 * the last check are verified one by one; `full` verifies the whole store (every 10th trial and the
 * last), since a crash could in principle damage older data too.
 */
async function checkAfterKill(dir: string, promised: readonly string[], seen: Set<string>, full: boolean, r: Rng): Promise<{ problems: string[]; restored: number }> {
  const problems: string[] = [];
  const store = await openStore(dir);
  let restored = 0;
  try {
    const ids: string[] = [];
    for await (const k of store.sub.manifests.keys()) ids.push(new TextDecoder().decode(k));
    const fresh = ids.filter((id) => !seen.has(id));
    const reports = full ? [await store.verify()] : await Promise.all(fresh.map((id) => store.verify(id)));
    for (const rep of reports) for (const p of rep.problems) problems.push(`verify: snapshot ${p.snapshot.slice(0, 12)} part ${String(p.part)}: ${p.problem}`);
    for (const id of fresh) seen.add(id);
    const listed = new Set(ids);
    for (const id of promised) if (!listed.has(id)) problems.push(`snapshot ${id.slice(0, 12)} was reported saved and is gone`);
    const sample = new Set(promised.length === 0 ? [] : [promised[promised.length - 1] as string, r.pick(promised)]);
    for (const id of sample) {
      try {
        const res = await restoreSnapshot(store, id);
        restored++;
        if (!res.proof.ok) problems.push(`restore ${id.slice(0, 12)}: proof failed`);
      } catch (e) {
        problems.push(`restore ${id.slice(0, 12)}: ${codeOf(e)}: ${(e as Error).message}`);
      }
    }
  } catch (e) {
    problems.push(`store check: ${codeOf(e)}: ${(e as Error).message}`);
  } finally {
    await store.close();
  }
  return { problems, restored };
}

/** Runs `trials` kill trials on one store. */
async function crashTrials(trials: number, seed: number) {
  const r = rng(seed);
  const dir = await tempDir();
  const promised: string[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  let restored = 0;
  const saver = await nodeArgsFor(SAVER);
  const start = (n: number): Child => spawnNode(saver, [dir, VPS, String(seed + n)]);
  const queue = Array.from({ length: Math.min(AHEAD, trials) }, (_, n) => start(n));
  for (let t = 0; t < trials; t++) {
    const child = queue.shift() as Child;
    await child.waitFor(/^booted$/);
    child.proc.stdin.write('go\n');
    await child.waitFor(/^ready$/);
    const delay = 50 + r.int(351);
    await sleep(delay);
    child.proc.kill('SIGKILL');
    const end = await child.exited;
    if (end.signal !== 'SIGKILL') problems.push(`trial ${t}: saver ended with ${String(end.code)} before the kill: ${end.stderr.slice(-500)}`);
    for (const l of child.lines) if (l.startsWith('saved ')) promised.push(l.slice(6));
    // Later savers boot while this one's store is checked; each opens the store only on `go`.
    if (t + AHEAD < trials) queue.push(start(t + AHEAD));
    const c = await checkAfterKill(dir, promised, seen, t % 10 === 9 || t === trials - 1, r);
    restored += c.restored;
    problems.push(...c.problems.map((p) => `trial ${t} (kill after ${delay} ms): ${p}`));
  }
  return { problems, promised: promised.length, visible: seen.size, restored };
}

test(`crash: ${TRIALS} SIGKILLs of a saving process leave a whole, restorable store`, async () => {
  const out = await crashTrials(TRIALS, SEED);
  assert.equal(out.problems, [], `seed ${SEED}`);
  // The kills must land while saves run, or the test shows nothing.
  assert.ok(out.promised >= TRIALS, `only ${out.promised} snapshots saved in ${TRIALS} trials`);
  assert.ok(out.visible >= out.promised, `${out.visible} visible < ${out.promised} promised`);
  process.stderr.write(`crash: ${TRIALS} kills, ${out.promised} snapshots reported saved, ${out.visible} visible, ${out.restored} restores with proof\n`);
});

test('crash check catches a store that commits the manifest before its blobs (planted defect)', async () => {
  // The planted saver crashes itself between the manifest write and the blob write of its first
  // save, so the check runs on the same broken store every time: no kill timing involved.
  const dir = await tempDir();
  const child = spawnNode(await nodeArgsFor(SAVER), [dir, VPS, String(SEED), 'nonatomic']);
  await child.waitFor(/^booted$/);
  child.proc.stdin.write('go\n');
  const end = await child.exited;
  assert.is(end.signal, 'SIGKILL', `planted saver ended with ${String(end.code)}: ${end.stderr.slice(-500)}`);
  assert.not.ok(child.lines.some((l) => l.startsWith('saved ')), 'the crash lands inside the first save');
  const c = await checkAfterKill(dir, [], new Set(), true, rng(SEED));
  assert.ok(c.problems.length > 0 && c.problems.every((p) => /blob (\S+ )?is missing/.test(p)), c.problems.join('\n') || 'no problem found');
});

test.run();
