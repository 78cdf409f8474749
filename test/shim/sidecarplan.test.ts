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

// sidecar.rs start_sidecar allocates with AllocationPolicy::LowMemory, which memory.rs serves
// from the start of the lowest free range of the vnode.
test('plan: 64 VPs → boot_cpus 0,32 and node memory (1 + 13 × cpus) pages, low memory first, own vnode', () => {
  const p = planSidecar({ ...base, vpVnodes: vnodes([64, 0]) });
  assert.ok(p.active);
  if (!p.active) return;
  assert.equal(p.bootCpus, [0, 32]);
  assert.equal(p.nodes.map((n) => n.memory.size), [BigInt(sidecarNodePages(32)) * 4096n, BigInt(sidecarNodePages(32)) * 4096n]);
  assert.equal(p.nodes.map((n) => n.memory.gpa), [0x1000_0000n, 0x1000_0000n + 417n * 4096n]);
});

test('plan: a vnode without room falls back to any vnode (allocate(None, …))', () => {
  const p = planSidecar({ ...base, vpVnodes: vnodes([4, 0], [4, 1]), free: [{ gpa: 0x1000_0000n, size: 0x1000n, vnode: 0 }, base.free[1]!] });
  assert.ok(p.active);
  if (p.active) assert.equal(p.nodes.map((n) => n.memory.gpa >= 0x2000_0000n), [true, true]);
});

// sidecar.rs sidecar_node_is_empty (July 2026): without overrides a one-CPU chunk is "empty" and
// gets no node and no memory. (Its CPU is listed in boot_cpus: a model difference, see README.)
test('plan: a one-CPU chunk gets no sidecar node', () => {
  const p = planSidecar({ ...base, vpVnodes: vnodes([4, 0], [1, 1], [3, 0]) });
  assert.ok(p.active);
  if (!p.active) return;
  assert.equal(p.nodes.map((n) => [n.baseVp, n.vpCount]), [[0, 4], [5, 3]]);
  assert.equal(p.bootCpus, [0, 4, 5]);
});

// host_params/dt read_from_dt: per-CPU overrides only when the excluded list is non-empty.
test('plan: a restore with nothing excluded keeps sidecar on above 400 CPUs, boot_cpus = base VPs', () => {
  const p = planSidecar({ ...base, vpVnodes: vnodes([401, 0]), restoring: true, restoreLinuxCpus: [], free: [{ gpa: 0x1000_0000n, size: 1024n * MIB, vnode: 0 }] });
  assert.ok(p.active);
  if (p.active) assert.equal(p.bootCpus, p.nodes.map((n) => n.baseVp));
});

// sidecar.rs sidecar_node_is_empty: with overrides a node with no AP left is skipped and its
// base VP kernel-started too; boot_cpus lists every CPU sidecar does not start.
test('plan: restore skips a node whose APs are all excluded', () => {
  const p = planSidecar({ ...base, vpVnodes: vnodes([4, 0], [4, 1]), restoring: true, restoreLinuxCpus: [1, 2, 3] });
  assert.ok(p.active);
  if (!p.active) return;
  assert.equal(p.nodes.map((n) => n.baseVp), [4]);
  assert.equal(p.bootCpus, [0, 1, 2, 3, 4]);
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
  ['VTL2 RAM on vnode 64', { free: [{ gpa: 0x1000_0000n, size: 64n * MIB, vnode: 64 }] }, 'vtl2 ram at 0x10000000 has vnode 64'],
  ['runs of one', { vpVnodes: [0, 1, 2] }, 'one cpu'],
  ['no memory', { free: [{ gpa: 0x1000_0000n, size: 0x1000n, vnode: 0 }] }, 'not enough vtl2 memory'],
  ['restore excluding CPUs with 401 CPUs', { vpVnodes: vnodes([401, 0]), restoring: true, restoreLinuxCpus: [3] }, 'restore with 401 cpus'],
  ['restore excluding CPU 400', { vpVnodes: vnodes([10, 0]), restoring: true, restoreLinuxCpus: [400] }, 'excluded cpus up to 400'],
  ['restore excluding every AP', { vpVnodes: vnodes([4, 0]), restoring: true, restoreLinuxCpus: [1, 2, 3] }, 'no sidecar node has a cpu'],
];
for (const [name, change, reason] of skips) {
  test(`plan skipped: ${name}`, () => {
    const p = planSidecar({ ...base, vpVnodes: vnodes([8, 0]), ...change });
    assert.is(p.active, false);
    if (!p.active) assert.ok(p.reason.includes(reason), p.reason);
  });
}

test.run();
