import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { planSidecar, sidecarNodePages, splitRuns, type SidecarInputs } from '../../lib/shim/index.ts';

const MIB = 0x10_0000n;
const base: SidecarInputs = {
  arch: 'x86_64', isolated: false, hasImage: true, mode: 'on', vpVnodes: [], restoring: false,
  free: [{ gpa: 0x1000_0000n, size: 64n * MIB, vnode: 0 }, { gpa: 0x2000_0000n, size: 64n * MIB, vnode: 1 }],
};
const vnodes = (...runs: Array<[number, number]>): number[] => runs.flatMap(([n, v]) => Array<number>(n).fill(v));

const splits: Array<[string, number[], number[], number[]]> = [
  ['64 VPs on one vnode', vnodes([64, 0]), [32, 32], [0, 32]],
  ['70 VPs on one vnode', vnodes([70, 0]), [24, 24, 22], [0, 24, 48]],
  ['two vnodes 8 + 8', vnodes([8, 0], [8, 1]), [8, 8], [0, 8]],
  ['33 VPs', vnodes([33, 0]), [17, 16], [0, 17]],
  ['alternating vnodes make runs of one', [0, 1, 0, 1], [1, 1, 1, 1], [0, 1, 2, 3]],
];
for (const [name, v, sizes, bases] of splits) {
  test(`split: ${name} → chunks ${sizes.join(',')}`, () => {
    const chunks = splitRuns(v);
    assert.equal(chunks.map((c) => c.vpCount), sizes);
    assert.equal(chunks.map((c) => c.baseVp), bases);
  });
}

test('plan: 64 VPs → boot_cpus 0,32 and node memory (1 + 13 × cpus) pages from the own vnode', () => {
  const p = planSidecar({ ...base, vpVnodes: vnodes([64, 0]) });
  assert.ok(p.active);
  if (!p.active) return;
  assert.equal(p.bootCpus, [0, 32]);
  assert.equal(p.nodes.map((n) => n.memory.size), [BigInt(sidecarNodePages(32)) * 4096n, BigInt(sidecarNodePages(32)) * 4096n]);
  assert.equal(p.nodes.map((n) => n.memory.gpa), [0x1000_0000n + 64n * MIB - 417n * 4096n, 0x1000_0000n + 64n * MIB - 834n * 4096n]);
});

test('plan: a vnode without room borrows from the next vnode with room', () => {
  const p = planSidecar({ ...base, vpVnodes: vnodes([4, 0], [4, 1]), free: [{ gpa: 0x1000_0000n, size: 0x1000n, vnode: 0 }, base.free[1]!] });
  assert.ok(p.active);
  if (p.active) assert.equal(p.nodes.map((n) => n.memory.gpa >= 0x2000_0000n), [true, true]);
});

test('plan: restore puts CPUs with outstanding I/O in Linux', () => {
  const p = planSidecar({ ...base, vpVnodes: vnodes([8, 0]), restoring: true, restoreLinuxCpus: [5, 3] });
  assert.ok(p.active);
  if (p.active) assert.equal(p.bootCpus, [0, 3, 5]);
});

const skips: Array<[string, Partial<SidecarInputs>, string]> = [
  ['aarch64', { arch: 'aarch64' }, 'not x86_64'],
  ['isolated', { isolated: true }, 'isolated'],
  ['no image', { hasImage: false }, 'no sidecar image'],
  ['OPENHCL_SIDECAR=off', { mode: 'off' }, 'OPENHCL_SIDECAR=off'],
  ['vnode 64', { vpVnodes: [0, 0, 64, 64] }, 'vp 2 has vnode 64'],
  ['runs of one', { vpVnodes: [0, 1, 2] }, 'one cpu'],
  ['no memory', { free: [{ gpa: 0x1000_0000n, size: 0x1000n, vnode: 0 }] }, 'not enough vtl2 memory'],
  ['restore above 400 CPUs', { vpVnodes: vnodes([401, 0]), restoring: true }, 'restore with 401 cpus'],
];
for (const [name, change, reason] of skips) {
  test(`plan skipped: ${name}`, () => {
    const p = planSidecar({ ...base, vpVnodes: vnodes([8, 0]), ...change });
    assert.is(p.active, false);
    if (!p.active) assert.ok(p.reason.includes(reason), p.reason);
  });
}

test.run();
