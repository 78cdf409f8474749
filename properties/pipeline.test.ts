import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bootWithWorkload, restoreSnapshot, saveVm } from '../harness/servicing.ts';
import { presetConfig, type VmConfig } from '../lib/config/index.ts';
import { changingOverridesRefused, preservingOverrides, restoreProves, setText, topologyDiscovered, SNAPSHOT_NAME } from './props/pipeline.ts';
import { propertyTests } from './testing.ts';
import { memoryStore } from './vm.ts';
import { boot } from '../harness/pipeline.ts';
import { topologyFromConfig } from '../lib/config/index.ts';
import { compareTopology } from '../lib/hcl/index.ts';

// The four pipeline properties at the default count, and each against its planted defect.
propertyTests(topologyDiscovered, 12); // VPs + nodes; the smallest case is two VPs on two vnodes
propertyTests(restoreProves, 100); // workload steps: a short workload that moves the CMOS index
propertyTests(preservingOverrides, 2); // overrides + workload steps
propertyTests(changingOverridesRefused, 0); // workload steps: any refused override shows it

// Regressions for the bugs these properties found (each once skipped as a known gap).
const small = presetConfig('small');
const ram0 = small.numa[0]?.memory[0] ?? { base: 0, size: 0 };
// vtl2 mode loads the image in host RAM (allocate_vtl2_ram): at the top of node 0's.
const smallVtl2 = { ...small, vtl2: { ...small.vtl2, mode: 'vtl2' as const, base: ram0.base + ram0.size - small.vtl2.size } };

async function restoreWith(config: VmConfig, ...sets: string[]) {
  const store = await memoryStore();
  try {
    const saved = await saveVm(bootWithWorkload(config, { seed: 1, steps: 10 }), store, { name: SNAPSHOT_NAME });
    return await restoreSnapshot(store, saved.id, { sets });
  } finally {
    await store.close();
  }
}

test('a static command line override reaches the shim (the package is rebuilt for it)', async () => {
  const r = await restoreWith(small, 'cmdline.static=HCLTEST_STATIC=1');
  assert.ok(r.vm.shim.cmdline.includes('HCLTEST_STATIC=1'));
  assert.is(r.vm.usermodeVersion, '1.7.0');
  assert.ok(r.proof.ok);
});

// Once "silently ignored" in vtl2 mode; OpenHCL does not refuse them either (topology_from_persisted_state
// takes VTL0 RAM from the host and MMIO from the saved state): accepted, and the oracle judges.
test('vtl2 allocation mode: a VTL0 MMIO change is accepted and the oracle reports the saved MMIO kept', async () => {
  const r = await restoreWith(smallVtl2, `mmio.vtl0[1].size=${(small.mmio.vtl0[1]?.size ?? 0) - 4096}`);
  assert.is(r.outcome.kind, 'accepted-inconsistent');
  assert.ok(r.inconsistencies.some((x) => x.kind === 'mmio-differs' && x.message.startsWith('vtl0 mmio: ')), JSON.stringify(r.inconsistencies));
});

test('vtl2 allocation mode: a VTL0 RAM change is accepted and takes effect', async () => {
  // topology_from_persisted_state: VTL2 RAM comes from the saved state, VTL0 RAM is the host's new
  // RAM minus it. RAM now starts one page higher, below the saved carve at the top of the range.
  const r = await restoreWith(smallVtl2, `numa[0].memory[0].base=${ram0.base + 4096}`, `numa[0].memory[0].size=${ram0.size - 4096}`);
  assert.equal(r.outcome.layer, 'oracle');
  const carve = Math.min(...r.vm.discovered.topology.vtl2Ram.map((v) => v.base));
  assert.is(carve, smallVtl2.vtl2.base, 'the saved carve at the top of the range is kept');
  assert.equal(r.vm.discovered.topology.nodes[0]?.memory[0], { base: ram0.base + 4096, size: carve - (ram0.base + 4096) });
});

test('aarch64 MPIDRs with Aff3 set boot: boot_cpuid_phys holds the low 32 bits', () => {
  const c = presetConfig('arm64-virt');
  c.vps = c.vps.map((v) => ({ ...v, reg: v.reg + 2 ** 32 }));
  assert.equal(compareTopology(topologyFromConfig(c), boot(c).discovered.topology), []);
});

test('setText gives --set text that applyOverrides types back', () => {
  assert.is(setText({ path: 'cmdline.host', value: 'a "b c"' }), 'cmdline.host=a "b c"');
  assert.is(setText({ path: 'keepAlive.nvme', value: false }), 'keepAlive.nvme=false');
  assert.is(setText({ path: 'vps', value: [{ reg: 1, vnode: 0 }] }), 'vps=[{"reg":1,"vnode":0}]');
});

test.run();
