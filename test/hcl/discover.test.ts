import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isHclError } from '../../lib/errors.ts';
import { fdtNode, findNode, prop } from '../../lib/fdt/index.ts';
import type { FdtNode } from '../../lib/fdt/index.ts';
import { discover, MEMORY_VTL_TYPES } from '../../lib/hcl/discover.ts';
import { checkTopology } from '../../lib/hcl/invariants.ts';
import { baseSpec, kernelProcFs, kernelTree, mapProcFs, type KernelDtSpec } from './fixture.ts';

const rangesOfType = (spec: KernelDtSpec, type: number) =>
  spec.partition.filter(([, , t]) => t === type).map(([base, size]) => ({ base, size })).sort((a, b) => a.base - b.base);

test('discover builds the topology and regions from the kernel DTB', () => {
  const spec = baseSpec();
  const d = discover(kernelProcFs(kernelTree(spec), 'loglevel=8'), {});
  assert.is(d.topology.arch, 'x86_64');
  assert.equal(d.topology.vps, spec.vps.map((vp, index) => ({ index, ...vp })));
  const vnodes = [...new Set(spec.partition.filter(([, , t]) => t === 0).map(([, , , v]) => v ?? -1))].sort();
  assert.equal(d.topology.nodes.map((n) => n.vnode), vnodes);
  for (const node of d.topology.nodes) {
    const want = spec.partition.filter(([, , t, v]) => t === 0 && v === node.vnode).map(([base, size]) => ({ base, size }));
    assert.equal(node.memory, want.sort((a, b) => a.base - b.base));
  }
  assert.equal(d.topology.vtl0Mmio, rangesOfType(spec, 5));
  assert.equal(d.topology.vtl2Mmio, rangesOfType(spec, 6));
  assert.equal(d.vtl2Ram, spec.vtl2Ram);
  assert.equal(d.configRanges, rangesOfType(spec, 2));
  assert.equal(d.reservedRange, rangesOfType(spec, 7)[0]);
  assert.equal(d.gpaPool, rangesOfType(spec, 8));
  assert.equal(d.persistedRegion, { header: rangesOfType(spec, 11)[0], payload: rangesOfType(spec, 12)[0] });
  assert.equal(d.acceptedRanges, spec.accepted);
  assert.is(d.partitionMemoryMap.length, spec.partition.length);
  for (const e of d.partitionMemoryMap) {
    const src = spec.partition.find(([base]) => base === e.range.base);
    assert.ok(src, `entry at ${e.range.base}`);
    assert.is(e.vtlType, MEMORY_VTL_TYPES[src[2]]);
    assert.is(e.vnode, src[3]);
  }
  assert.is(d.isolation, 'none');
  assert.equal(d.memoryAllocationMode, { mode: 'host' });
  assert.equal([...d.entropy], [1, 2, 3, 4]);
  assert.is(d.cmdline, 'loglevel=8');
  assert.equal(d.sidecar, []);
  checkTopology(d.topology);
});

test('cpu nodes are ordered by unit address, not file order; aarch64 reads u64 MPIDRs', () => {
  const spec = { ...baseSpec(), arch: 'aarch64' as const };
  spec.vps = Array.from({ length: 12 }, (_, i) => ({ reg: 0x1_0000_0000 * (i % 2) + i, vnode: i % 2 }));
  const tree = kernelTree(spec);
  const cpus = findNode(tree, '/cpus');
  assert.ok(cpus);
  cpus.children.reverse();
  const d = discover(kernelProcFs(tree, ''), {});
  assert.is(d.topology.arch, 'aarch64');
  assert.equal(d.topology.vps, spec.vps.map((vp, index) => ({ index, ...vp })));
});

test('sidecar nodes take base VPs and counts from boot_cpus', () => {
  const spec = baseSpec();
  spec.sidecar = [
    { ctrl: 0x1_2000_0000, shmem: { base: 0x1_2000_1000, size: 0x1a000 } },
    { ctrl: 0x1_2010_0000, shmem: { base: 0x1_2010_1000, size: 0x1a000 } },
  ];
  const bases = [0, 2];
  const d = discover(kernelProcFs(kernelTree(spec), `boot_cpus=${bases.join(',')} x=1`), {});
  assert.equal(
    d.sidecar,
    spec.sidecar.map((s, i) => ({ controlPage: s.ctrl, shmem: s.shmem, baseVp: bases[i], vpCount: (bases[i + 1] ?? spec.vps.length) - (bases[i] ?? 0) })),
  );
  // boot_cpus that does not list one VP per node leaves the VP fields out.
  const d2 = discover(kernelProcFs(kernelTree(spec), 'boot_cpus=0,1,2'), {});
  assert.equal(d2.sidecar.map((s) => s.baseVp), [undefined, undefined]);
});

test('options come from command-line words, then env, with legacy aliases', () => {
  const d = discover(kernelProcFs(kernelTree(baseSpec()), 'OPENHCL_SIDECAR=log UNDERHILL_NVME_VFIO=1 OPENHCL_CONFIDENTIAL=1'), {
    OPENHCL_CONFIDENTIAL: '0',
    OPENHCL_TEST_CONFIG: 'SERVICING_SAVE_FAIL',
  });
  assert.is(d.options.sidecar, 'log');
  assert.is(d.options.nvmeVfio, true);
  assert.is(d.options.confidential, false);
  assert.is(d.options.testConfig, 'SERVICING_SAVE_FAIL');
});

type Mutation = (root: FdtNode) => void;
const at = (root: FdtNode, path: string): FdtNode => {
  const n = findNode(root, path);
  if (n === undefined) throw new Error(`fixture has no ${path}`);
  return n;
};
const dropProp = (path: string, name: string): Mutation => (root) => {
  const n = at(root, path);
  n.properties = n.properties.filter((p) => p.name !== name);
};
const setProp = (path: string, p: ReturnType<typeof prop.u32>): Mutation => (root) => {
  const n = at(root, path);
  n.properties = [...n.properties.filter((x) => x.name !== p.name), p];
};
const typeNode = (root: FdtNode, type: number): FdtNode => {
  const n = at(root, '/openhcl').children.find((c) => c.properties.some((p) => p.name === 'openhcl,memory-type' && p.value[3] === type));
  if (n === undefined) throw new Error(`fixture has no type ${type}`);
  return n;
};

const BAD: Array<[string, Mutation, string]> = [
  ['missing /openhcl', (r) => { r.children = r.children.filter((c) => c.name !== 'openhcl'); }, '/openhcl: node not found'],
  ['missing /cpus', (r) => { r.children = r.children.filter((c) => c.name !== 'cpus'); }, '/cpus: node not found'],
  ['missing isolation-type', dropProp('/openhcl', 'isolation-type'), '/openhcl: missing property isolation-type'],
  ['unknown isolation', setProp('/openhcl', prop.str('isolation-type', 'sev')), 'isolation-type "sev"'],
  ['bad allocation mode', setProp('/openhcl', prop.str('memory-allocation-mode', 'guest')), 'memory-allocation-mode "guest"'],
  ['cpu without vnode', dropProp('/cpus/cpu@2', 'numa-node-id'), '/cpus/cpu@2: missing property numa-node-id'],
  ['cpu reg of wrong width', setProp('/cpus/cpu@1', prop.u64('reg', 1n)), '/cpus/cpu@1: reg'],
  ['cpus with 3 address cells', setProp('/cpus', prop.u32('#address-cells', 3)), '#address-cells 3'],
  ['no cpus', (r) => { at(r, '/cpus').children = []; }, 'no cpu@ nodes'],
  ['duplicate cpu', (r) => { const c = at(r, '/cpus'); c.children.push(fdtNode('cpu@01', c.children[0]?.properties)); }, 'duplicate cpu unit address'],
  ['unknown memory type', (r) => { const n = typeNode(r, 2); n.properties = n.properties.map((p) => (p.name === 'openhcl,memory-type' ? prop.u32(p.name, 13) : p)); }, 'openhcl,memory-type 13 is not a known type'],
  ['no persisted header', (r) => { const o = at(r, '/openhcl'); o.children = o.children.filter((c) => c !== typeNode(r, 11)); }, 'exactly one VTL2_PERSISTED_STATE_HEADER range, found 0'],
  ['two payloads', (r) => { const o = at(r, '/openhcl'); const p = typeNode(r, 12); o.children.push({ ...p, name: `${p.name}0` }); }, 'exactly one VTL2_PERSISTED_STATE_PROTOBUF range, found 2'],
  ['two reserved', (r) => { const o = at(r, '/openhcl'); const p = typeNode(r, 7); o.children.push({ ...p, name: `${p.name}0` }); }, 'at most one VTL2_RESERVED'],
  ['VTL0 RAM without vnode', (r) => { const n = typeNode(r, 0); n.properties = n.properties.filter((p) => p.name !== 'numa-node-id'); }, 'missing property numa-node-id'],
  ['no VTL2 RAM', (r) => { r.children = r.children.filter((c) => !c.name.startsWith('memory@')); }, 'no memory@ nodes'],
  ['memory without reg', (r) => { const m = r.children.find((c) => c.name.startsWith('memory@')); if (m) m.properties = m.properties.filter((p) => p.name !== 'reg'); }, 'missing property reg'],
];

for (const [name, mutate, message] of BAD) {
  test(`discover rejects: ${name}`, () => {
    const tree = kernelTree(baseSpec());
    mutate(tree);
    try {
      discover(kernelProcFs(tree, ''), {});
      assert.unreachable('accepted a bad tree');
    } catch (e) {
      assert.ok(isHclError(e, 'HCL_DISCOVERY_INVALID'), String(e));
      assert.match(e.message, message);
      assert.ok(e.message.startsWith('discovery: '));
    }
  });
}

test('discover rejects a missing or broken /sys/firmware/fdt and bad option values', () => {
  const cases: Array<[string, () => unknown, string]> = [
    ['no fdt', () => discover(mapProcFs(new Map([['/proc/cmdline', new Uint8Array()]])), {}), '/sys/firmware/fdt: procfs'],
    ['garbage fdt', () => discover(mapProcFs(new Map([['/sys/firmware/fdt', new Uint8Array(64)]])), {}), '/sys/firmware/fdt'],
    ['bad option', () => discover(kernelProcFs(kernelTree(baseSpec()), 'OPENHCL_SIDECAR=maybe'), {}), 'OPENHCL_SIDECAR'],
  ];
  for (const [name, run, message] of cases) {
    try {
      run();
      assert.unreachable(name);
    } catch (e) {
      assert.ok(isHclError(e, 'HCL_DISCOVERY_INVALID'), `${name}: ${String(e)}`);
      assert.match(e.message, message, name);
    }
  }
});

test.run();
