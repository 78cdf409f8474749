import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isHclError } from '../../lib/errors.ts';
import { cpuRanges, qemuArgsFor, validateSpec, type BootSpec } from '../../harness/realkernel/qemu.ts';
import { shapeFromDtb } from '../../harness/realkernel/spec.ts';
import { FIXTURE_SHAPE, fixtureDtb } from './fixture.ts';

const files = { kernel: '/k/vmlinuz', initrd: '/k/initrd.gz', dtb: '/k/x.dtb' };
const MiB = 2 ** 20;

const ranges: Array<[number[], string[]]> = [
  [[0], ['0']],
  [[0, 1, 2, 3], ['0-3']],
  [[5, 0, 1, 2], ['0-2', '5']],
  [[1, 3, 5], ['1', '3', '5']],
  [[], []],
];
for (const [cpus, want] of ranges) {
  test(`cpuRanges ${JSON.stringify(cpus)} → ${JSON.stringify(want)}`, () => assert.equal(cpuRanges(cpus), want));
}

/** The value after each occurrence of `flag` in argv. */
const values = (argv: string[], flag: string): string[] => argv.flatMap((a, i) => (a === flag ? [argv[i + 1] as string] : []));

const shapes: Array<{ name: string; spec: BootSpec }> = [
  { name: 'fixture 2 nodes / 8 cpus', spec: { ...FIXTURE_SHAPE, ...files } },
  { name: '1 node / 1 cpu, gicv2', spec: { cpus: 1, gicVersion: 2, nodes: [{ cpus: [0], memBytes: 128 * MiB }], ...files } },
  {
    name: 'interleaved cpus, 3 nodes of different sizes',
    spec: { cpus: 6, gicVersion: 3, nodes: [{ cpus: [0, 3], memBytes: 64 * MiB }, { cpus: [1, 4], memBytes: 32 * MiB }, { cpus: [2, 5], memBytes: 96 * MiB }], ...files },
  },
  {
    // VTL2 RAM only in node 0, as the arm64-virt preset has it.
    name: 'memoryless second node',
    spec: { cpus: 4, gicVersion: 3, nodes: [{ cpus: [0, 1], memBytes: 64 * MiB }, { cpus: [2, 3], memBytes: 0 }], ...files },
  },
];

for (const { name, spec } of shapes) {
  test(`qemuArgsFor derives -smp, -m and one backend + -numa per node: ${name}`, () => {
    const argv = qemuArgsFor(spec);
    assert.equal(values(argv, '-M'), [`virt,gic-version=${spec.gicVersion}`]);
    assert.equal(values(argv, '-smp'), [`${spec.cpus}`]);
    const total = spec.nodes.reduce((s, n) => s + n.memBytes, 0);
    assert.equal(values(argv, '-m'), [`${total / MiB}M`]);
    const withRam = spec.nodes.flatMap((n, i) => (n.memBytes > 0 ? [i] : []));
    assert.equal(values(argv, '-object'), withRam.map((i) => `memory-backend-ram,id=m${i},size=${spec.nodes[i]?.memBytes}`));
    assert.equal(
      values(argv, '-numa'),
      spec.nodes.map((n, i) => `node,nodeid=${i}${cpuRanges(n.cpus).map((r) => `,cpus=${r}`).join('')}${n.memBytes > 0 ? `,memdev=m${i}` : ''}`),
    );
    assert.equal([values(argv, '-kernel'), values(argv, '-initrd'), values(argv, '-dtb')], [[files.kernel], [files.initrd], [files.dtb]]);
    assert.equal(values(argv, '-nic'), ['none']);
    assert.not.ok(argv.includes('-append'), 'the DTB bootargs must reach the kernel');
  });
}

test('qemuArgsFor with dumpDtb asks the virt machine to write the final blob', () => {
  assert.equal(values(qemuArgsFor({ ...FIXTURE_SHAPE, ...files }, { dumpDtb: '/t/f.dtb' }), '-M'), ['virt,gic-version=3,dumpdtb=/t/f.dtb']);
});

const badSpecs: Array<{ name: string; spec: BootSpec; msg: string }> = [
  { name: 'gicv2 with 9 cpus', spec: { cpus: 9, gicVersion: 2, nodes: [{ cpus: [...Array(9).keys()], memBytes: MiB }], ...files }, msg: 'gic-version=2 supports at most 8 cpus' },
  { name: 'cpu in no node', spec: { cpus: 2, gicVersion: 3, nodes: [{ cpus: [0], memBytes: MiB }], ...files }, msg: '1 of 2 cpus are in no node' },
  { name: 'cpu in two nodes', spec: { cpus: 2, gicVersion: 3, nodes: [{ cpus: [0, 1], memBytes: MiB }, { cpus: [1], memBytes: MiB }], ...files }, msg: 'node 1: cpu 1 is in more than one node' },
  { name: 'cpu out of range', spec: { cpus: 1, gicVersion: 3, nodes: [{ cpus: [0, 4], memBytes: MiB }], ...files }, msg: 'node 0: cpu 4 is outside 0-0' },
  { name: 'memory not whole MiB', spec: { cpus: 1, gicVersion: 3, nodes: [{ cpus: [0], memBytes: MiB + 4096 }], ...files }, msg: 'node 0: memory 1052672 bytes is not a whole number of MiB' },
  { name: 'no memory at all', spec: { cpus: 2, gicVersion: 3, nodes: [{ cpus: [0], memBytes: 0 }, { cpus: [1], memBytes: 0 }], ...files }, msg: 'no node has memory' },
  { name: 'no nodes', spec: { cpus: 1, gicVersion: 3, nodes: [], ...files }, msg: 'no numa nodes' },
];
for (const { name, spec, msg } of badSpecs) {
  test(`validateSpec refuses ${name}`, () => {
    try {
      validateSpec(spec);
      assert.unreachable('accepted');
    } catch (e) {
      assert.ok(isHclError(e, 'CONFIG_INVALID'), String(e));
      assert.match((e as Error).message, `qemu spec: ${msg}`);
    }
  });
}

test('shapeFromDtb reads the fixture DTB back into the machine it was written for', () => {
  assert.equal(shapeFromDtb(fixtureDtb()), FIXTURE_SHAPE);
});

test.run();
