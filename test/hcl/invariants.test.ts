import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Topology } from '../../lib/config/topology.ts';
import { isHclError } from '../../lib/errors.ts';
import { checkTopology, compareTopology, topologyViolations, usesX2apic } from '../../lib/hcl/invariants.ts';

const M = 1 << 20;
function valid(): Topology {
  return {
    arch: 'x86_64',
    vps: [0, 1, 2, 3].map((i) => ({ index: i, reg: i * 2, vnode: i >> 1 })),
    nodes: [
      { vnode: 0, memory: [{ base: 0, size: 256 * M }] },
      { vnode: 1, memory: [{ base: 256 * M, size: 256 * M }, { base: 0x1_0000_0000, size: 512 * M }] },
    ],
    vtl0Mmio: [{ base: 0xf000_0000, size: 128 * M }, { base: 0x10_0000_0000, size: 1024 * M }],
    vtl2Mmio: [{ base: 0x20_0000_0000, size: 256 * M }],
    vtl2Ram: [{ base: 0x1_0000_0000 + 512 * M, size: 64 * M, vnode: 0 }],
  };
}

test('a valid topology has no violations', () => {
  assert.equal(topologyViolations(valid()), []);
  checkTopology(valid(), [{ base: 0x1_0000_0000, size: 1024 * M }]);
});

const CASES: Array<[string, (t: Topology) => void, string]> = [
  ['no VPs', (t) => { t.vps = []; }, 'no VPs'],
  ['gap in VP indices', (t) => { const vp = t.vps[2]; if (vp) vp.index = 5; }, 'vps[2]: index 5, expected 2'],
  ['APIC ID 255 without x2APIC', (t) => { const vp = t.vps[3]; if (vp) vp.reg = 255; }, 'APIC ID 255 is not below 255'],
  ['duplicate APIC ID', (t) => { const vp = t.vps[3]; if (vp) vp.reg = 0; }, "is also VP 0's"],
  ['empty range', (t) => { t.vtl2Mmio = [{ base: 0x30_0000_0000, size: 0 }]; }, 'vtl2Mmio[0]: empty range'],
  ['unsorted node memory', (t) => { t.nodes[1]?.memory.reverse(); }, 'is below the previous range'],
  ['RAM overlaps MMIO', (t) => { t.vtl0Mmio[0] = { base: 0x1000_0000, size: M }; }, 'overlaps nodes[1].memory[0]'],
  ['node without memory', (t) => { const n = t.nodes[0]; if (n) n.memory = []; }, 'vnode 0 has no memory'],
  ['unaligned node memory', (t) => { const n = t.nodes[0]; if (n) n.memory = [{ base: 0, size: 256 * M - 512 }]; }, 'is not 4K-aligned'],
  ['VTL2 RAM overlapping VTL0 RAM', (t) => { const r = t.nodes[0]?.memory[0]; if (r) t.vtl2Ram = [{ base: r.base, size: 4096, vnode: 0 }]; }, 'vtl2Ram[0]: [0x0, 0x1000) overlaps nodes[0].memory[0]'],
  ['nodes out of order', (t) => { t.nodes.reverse(); }, 'is not above the previous'],
];

for (const [name, mutate, message] of CASES) {
  test(`checkTopology reports: ${name}`, () => {
    const t = valid();
    mutate(t);
    try {
      checkTopology(t);
      assert.unreachable('accepted');
    } catch (e) {
      assert.ok(isHclError(e, 'HCL_TOPOLOGY_INVALID'), String(e));
      assert.match(e.message, message);
      assert.ok(e.message.startsWith('topology: '));
    }
  });
}

test('every violation is listed, not just the first', () => {
  const t = valid();
  const picked = [CASES[1], CASES[2], CASES[4], CASES[6]].filter((c) => c !== undefined);
  for (const [, mutate] of picked) mutate(t);
  const all = topologyViolations(t).join('\n');
  for (const [name, , message] of picked) assert.ok(all.includes(message), `${name} missing from: ${all}`);
});

test('VTL2 RAM must lie inside the partition RAM when it is given', () => {
  assert.match(topologyViolations(valid(), [{ base: 0, size: 512 * M }]).join('\n'), 'vtl2Ram[0]: [0x120000000, 0x124000000) is not inside partition RAM');
});

test('x2APIC: more than 255 x86 VPs may use APIC IDs of 255 and above', () => {
  const t = valid();
  t.vps = Array.from({ length: 300 }, (_, index) => ({ index, reg: index, vnode: 0 }));
  assert.ok(usesX2apic(t));
  assert.equal(topologyViolations(t), []);
  assert.not.ok(usesX2apic({ ...t, arch: 'aarch64' }));
});

test('compareTopology names every difference with its path', () => {
  const a = valid();
  const b = valid();
  assert.equal(compareTopology(a, b), []);
  b.vps.push({ index: 4, reg: 8, vnode: 1 });
  const vp1 = b.vps[1];
  if (vp1) vp1.vnode = 1;
  const n0 = b.nodes[0]?.memory[0];
  if (n0) n0.size = 128 * M;
  assert.equal(compareTopology(a, b), [
    'nodes[0].memory[0].size: 0x10000000 → 0x8000000',
    'vps.length: 4 → 5',
    'vps[1].vnode: 0 → 1',
    'vps[4]: (absent) → {"index":4,"reg":8,"vnode":1}',
  ]);
});

test.run();
