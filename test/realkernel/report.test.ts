import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gzipSync } from 'node:zlib';
import { isHclError } from '../../lib/errors.ts';
import { findNode, readFdt, type FdtNode } from '../../lib/fdt/index.ts';
import { MARK } from '../../harness/realkernel/initramfs.ts';
import { cpuRanges } from '../../harness/realkernel/qemu.ts';
import { parseReport, parseSections, parseZoneinfo } from '../../harness/realkernel/report.ts';
import { FIXTURE_SHAPE, fixtureDtb, fixtureLog } from './fixture.ts';

const log = fixtureLog();
const report = parseReport(log);

test('the captured log parses into exact sysfs texts', () => {
  const all = `${cpuRanges([...Array(FIXTURE_SHAPE.cpus).keys()]).join(',')}\n`;
  assert.equal(report.cpu, { possible: all, present: all, online: all });
  assert.equal(report.node, { possible: '0-1\n', online: '0-1\n' });
  assert.equal(
    report.nodes.map((n) => [n.id, n.cpulist]),
    FIXTURE_SHAPE.nodes.map((n, i) => [i, `${cpuRanges(n.cpus).join(',')}\n`]),
  );
  const bootargs = findNode(readFdt(fixtureDtb()).root, '/chosen')?.properties.find((p) => p.name === 'bootargs')?.value;
  assert.is(`${report.cmdline.trimEnd()}\0`, new TextDecoder().decode(bootargs));
});

test('node memory: present pages cover the node RAM, MemTotal is the managed part', () => {
  report.nodes.forEach((n, i) => {
    assert.is(n.pages.present * 4096, FIXTURE_SHAPE.nodes[i]?.memBytes);
    assert.is(n.memTotalKb, n.pages.managed * 4);
    assert.ok(n.pages.managed < n.pages.present);
  });
  assert.is(report.memTotalKb, report.nodes.reduce((s, n) => s + n.memTotalKb, 0));
});

function files(node: FdtNode, dir: string, out: Map<string, Uint8Array>): Map<string, Uint8Array> {
  for (const p of node.properties) out.set(`${dir}/${p.name}`, p.value);
  for (const c of node.children) files(c, `${dir}/${c.name}`, out);
  return out;
}

test('/openhcl files are the DTB property bytes, plus the name files Linux adds', () => {
  const openhcl = findNode(readFdt(fixtureDtb()).root, '/openhcl') as FdtNode;
  const want = files(openhcl, '/proc/device-tree/openhcl', new Map());
  for (const [p, v] of want) assert.equal(report.openhcl[p], v, p);
  const extra = Object.keys(report.openhcl).filter((p) => !want.has(p));
  assert.equal(extra, ['/proc/device-tree/openhcl/name', '/proc/device-tree/openhcl/vmbus/name']);
});

test('the fdt section is a whole blob whose tree holds the booted /openhcl', () => {
  const real = readFdt(report.fdt);
  assert.equal(findNode(real.root, '/openhcl'), findNode(readFdt(fixtureDtb()).root, '/openhcl'));
  assert.ok(report.deviceTree.includes('openhcl/hclckpt,marker'));
  assert.match(report.kernelLog, 'Booting Linux on physical CPU');
});

test('text sections keep a file without a trailing newline exact', () => {
  const { sections } = parseSections(`${MARK}:start\n${MARK}:begin text a\nx\n${MARK}:end a\n${MARK}:begin text b\nx\n\n${MARK}:end b\n${MARK}:done\n`);
  assert.equal(sections.get('a'), { kind: 'text', text: 'x' });
  assert.equal(sections.get('b'), { kind: 'text', text: 'x\n' });
});

test('zoneinfo page counts are summed over a node\'s zones', () => {
  const z = parseZoneinfo('Node 0, zone DMA\n  spanned  10\n  present  8\n  managed  6\nNode 0, zone Normal\n  spanned  5\n  present  5\n  managed  4\nNode 1, zone DMA\n  spanned  1\n  present  1\n  managed  1\n');
  assert.equal([...z], [[0, { spanned: 15, present: 13, managed: 10 }], [1, { spanned: 1, present: 1, managed: 1 }]]);
});

const broken: Array<{ name: string; log: string; msg: string }> = [
  { name: 'kernel panic before /init', log: '[ 0.1] Kernel panic - not syncing\n', msg: 'no @@hclckpt:start line' },
  { name: 'output cut short', log: log.slice(0, log.indexOf(`${MARK}:begin b64gz fdt`)), msg: 'no @@hclckpt:done line' },
  { name: 'unterminated section', log: `${MARK}:start\n${MARK}:begin text cmdline\nx\n`, msg: 'section cmdline (line 2) has no end marker' },
  { name: 'garbage between sections', log: `${MARK}:start\nhello\n${MARK}:done\n`, msg: 'line 2: expected a begin marker, found "hello"' },
  { name: 'bad gzip', log: `${MARK}:start\n${MARK}:begin b64gz fdt\nAAAA\n${MARK}:end fdt\n${MARK}:done\n`, msg: 'section fdt: bad gzip data' },
  { name: 'missing section', log: `${MARK}:start\n${MARK}:done\n`, msg: 'section zoneinfo is missing' },
  {
    name: 'fdt file absent',
    log: log.replace(/@@hclckpt:begin b64gz fdt\n[^@]*@@hclckpt:end fdt/, `${MARK}:begin missing fdt\n${MARK}:end fdt`),
    msg: 'section fdt (/sys/firmware/fdt) is missing',
  },
];
for (const c of broken) {
  test(`a broken log is KERNEL_BOOT_FAILED: ${c.name}`, () => {
    try {
      parseReport(c.log);
      assert.unreachable('parsed');
    } catch (e) {
      assert.ok(isHclError(e, 'KERNEL_BOOT_FAILED'), String(e));
      assert.match((e as Error).message, `kernel log: ${c.msg}`);
    }
  });
}

test('CRLF serial output parses the same as LF', () => {
  const fdt = gzipSync(report.fdt).toString('base64');
  const crlf = `${MARK}:start\r\n${MARK}:begin b64gz fdt\r\n${fdt}\r\n${MARK}:end fdt\r\n${MARK}:done\r\n`;
  const s = parseSections(crlf).sections.get('fdt');
  assert.equal(s, { kind: 'bytes', bytes: report.fdt });
});

test.run();
