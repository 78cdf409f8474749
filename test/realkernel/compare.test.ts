import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fdtNode, prop, readFdt, writeFdt } from '../../lib/fdt/index.ts';
import { compareWithModel, formatDifferences } from '../../harness/realkernel/compare.ts';
import { parseReport } from '../../harness/realkernel/report.ts';
import { fixtureDtb, fixtureLog, handModel } from './fixture.ts';

const dtb = fixtureDtb();
const real = parseReport(fixtureLog());

test('the hand-built model agrees with the real kernel on the fixture DTB', () => {
  const diffs = compareWithModel(real, handModel(dtb), dtb);
  assert.equal(diffs, [], formatDifferences(diffs));
});

// A DTB whose /openhcl carries one more property than the one that was booted.
function dtbWithExtraProp(): Uint8Array {
  const fdt = readFdt(dtb);
  const openhcl = fdt.root.children.find((c) => c.name === 'openhcl');
  openhcl?.properties.push(prop.u32('hclckpt,planted', 7));
  openhcl?.children.push(fdtNode('planted'));
  return writeFdt(fdt);
}

const planted: Array<{ what: string; overrides: Record<string, string | Uint8Array>; modelDtb?: Uint8Array; paths: string[]; shows?: string }> = [
  { what: 'cmdline', overrides: { '/proc/cmdline': 'console=ttyAMA0 panic=-1\n' }, paths: ['/proc/cmdline'], shows: 'hclckpt.test=1' },
  { what: 'cpu online', overrides: { '/sys/devices/system/cpu/online': '0-3\n' }, paths: ['/sys/devices/system/cpu/online'] },
  { what: 'node cpulist', overrides: { '/sys/devices/system/node/node1/cpulist': '4-6\n' }, paths: ['/sys/devices/system/node/node1/cpulist'] },
  { what: 'distance', overrides: { '/sys/devices/system/node/node0/distance': '10 21\n' }, paths: ['/sys/devices/system/node/node0/distance'] },
  { what: 'extra node', overrides: { '/sys/devices/system/node/node2/cpulist': '\n' }, paths: ['/sys/devices/system/node/node2/'] },
  {
    what: 'MemTotal above present',
    overrides: { '/sys/devices/system/node/node0/meminfo': 'Node 0 MemTotal: 300000 kB\n' },
    paths: ['/sys/devices/system/node/node0/meminfo MemTotal'],
    shows: '262144 kB present',
  },
  {
    what: 'MemTotal below managed',
    overrides: { '/sys/devices/system/node/node1/meminfo': 'Node 1 MemTotal: 1024 kB\n' },
    paths: ['/sys/devices/system/node/node1/meminfo MemTotal'],
  },
  { what: 'openhcl bytes', overrides: { '/proc/device-tree/openhcl/hclckpt,blob': new Uint8Array([0, 1, 2, 0xfe, 0xfe]) }, paths: ['/proc/device-tree/openhcl/hclckpt,blob'], shows: '00 01 02 fe fe' },
  {
    what: 'model DTB differs from the booted one',
    overrides: {},
    modelDtb: dtbWithExtraProp(),
    paths: ['/proc/device-tree/openhcl/hclckpt,planted', '/proc/device-tree/openhcl/planted', '/proc/device-tree/openhcl/planted/name', 'fdt:/openhcl/hclckpt,planted', 'fdt:/openhcl/planted'],
  },
];

for (const c of planted) {
  test(`a planted ${c.what} mismatch is reported at its path`, () => {
    const modelDtb = c.modelDtb ?? dtb;
    const diffs = compareWithModel(real, handModel(modelDtb, c.overrides), modelDtb);
    assert.equal(diffs.map((d) => d.path).sort(), [...c.paths].sort(), formatDifferences(diffs));
    if (c.shows !== undefined) assert.ok(formatDifferences(diffs).includes(c.shows), formatDifferences(diffs));
  });
}

test('a model without its DTB in /sys/firmware/fdt is reported', () => {
  const model = handModel(dtb, { '/sys/firmware/fdt': new Uint8Array([1, 2, 3]) });
  const diffs = compareWithModel(real, model, dtb);
  assert.equal(diffs.map((d) => d.path), ['/sys/firmware/fdt']);
  assert.match(formatDifferences(diffs), 'the model must expose the DTB it booted');
});

test('formatDifferences shows path, model, real and rule', () => {
  const out = formatDifferences([{ path: '/x', model: 'a\n', real: 'b\n', rule: 'r' }]);
  assert.is(out, '/x\n  model: "a\\n"\n  real:  "b\\n"\n  rule:  r');
});

test.run();
