import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { boot } from '../harness/pipeline.ts';
import { presetConfig } from '../lib/config/index.ts';
import { sidecarSplit, sidecarViolation } from './props/servicing.ts';
import { propertyTests } from './testing.ts';

// sidecar-split; the smallest case of the planted defect is no workload and one pinned I/O queue.
propertyTests(sidecarSplit, 1);

// The invariant checker itself must reject broken splits, or the property proves nothing.
const large = presetConfig('large');
const damage: Array<[string, (vm: ReturnType<typeof boot>) => void, string]> = [
  // A specified initial state that also marks a base VP makes sidecar start a VP Linux runs.
  ['a VP in both roles', (vm) => {
    const sc = vm.shim.sidecar!;
    sc.params.initialState = { specified: true, startsCpu: sc.params.initialState.startsCpu.map((_, vp) => sc.nodes.some((n) => vp >= n.baseVp && vp < n.baseVp + n.vpCount)) };
  }, 'in both Linux and sidecar'],
  ['a node over 32 VPs', (vm) => { const n = vm.shim.sidecar?.nodes[0]; if (n !== undefined) n.vpCount = 33; }, 'holds 33 VPs'],
  // A node over the base VP alone: sidecar would start nothing in it.
  ['an empty node', (vm) => {
    const sc = vm.shim.sidecar!;
    sc.nodes.push({ ...sc.nodes[0]!, vpCount: 1 });
  }, 'has no VP for sidecar to start'],
  ['a node on the wrong vnode', (vm) => { const n = vm.shim.sidecar?.nodes[0]; if (n !== undefined) n.vnode += 1; }, 'sits in the sidecar node of vnode'],
];
for (const [what, hurt, message] of damage) {
  test(`sidecarViolation finds ${what}`, () => {
    const vm = boot(large);
    assert.ok(vm.shim.sidecar !== undefined, 'the large preset boots with sidecar');
    assert.is(sidecarViolation(vm), null);
    hurt(vm);
    assert.match(sidecarViolation(vm) ?? '', message);
  });
}

test.run();
