// The kernel stage against real arm64 Linux 6.1 boots (captured serial logs): booted on the
// exact blob the real kernel saw, the model must show the same cpu, node and device-tree files.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { parseReport, parseSections } from '../../harness/realkernel/report.ts';
import { type Kernel } from '../../lib/kernel/index.ts';
import { readText } from '../../lib/abi/index.ts';
import { bootFromParts } from './boot-helpers.ts';

// The second log belongs to test/realkernel and is used when present (*.log is git-ignored).
const LOGS = [
  'test/kernel/fixtures/virt-cpu-status.serial.txt',
  ...['test/realkernel/fixtures/virt-2node-8cpu.log'].filter((f) => existsSync(f)),
];

/** Every path under /proc/device-tree, relative and sorted, as `find .` lists them. */
function listing(k: Kernel): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const name of k.procfs.list(dir)) {
      const r = rel === '' ? name : `${rel}/${name}`;
      out.push(r);
      if (isDir(k, `${dir}/${name}`)) walk(`${dir}/${name}`, r);
    }
  };
  walk('/proc/device-tree', '');
  return out.sort();
}
/** Same labels, and every value ends in the same column (values of equal width in both). */
function sameLayout(oursText: string, theirsText: string): void {
  const ours = oursText.split('\n');
  const theirs = theirsText.split('\n');
  assert.is(ours.length, theirs.length);
  const label = (l: string): string => l.replace(/ *\d+( kB)?$/, '');
  ours.forEach((l, i) => {
    assert.is(label(l), label(theirs[i]!), `line ${i}`);
    assert.is(l.length, theirs[i]!.length, `width of line ${i}: ${l} vs ${theirs[i]}`);
  });
}

const isDir = (k: Kernel, p: string): boolean => { try { k.procfs.list(p); return true; } catch { return false; } };

for (const file of LOGS) {
  const real = parseReport(readFileSync(file, 'utf8'));
  const k = bootFromParts({ dtb: real.fdt, cmdline: real.cmdline.replace(/\n$/, '') });
  const fs = k.procfs;
  test(`${file}: cpu possible/present/online match the real kernel`, () => {
    assert.is(readText(fs, '/sys/devices/system/cpu/possible'), real.cpu.possible);
    assert.is(readText(fs, '/sys/devices/system/cpu/present'), real.cpu.present);
    assert.is(readText(fs, '/sys/devices/system/cpu/online'), real.cpu.online);
  });
  test(`${file}: NUMA nodes, cpulists and distances match the real kernel`, () => {
    assert.is(readText(fs, '/sys/devices/system/node/possible'), real.node.possible);
    assert.is(readText(fs, '/sys/devices/system/node/online'), real.node.online);
    for (const n of real.nodes) {
      assert.is(readText(fs, `/sys/devices/system/node/node${n.id}/cpulist`), n.cpulist, `node${n.id} cpulist`);
      assert.is(readText(fs, `/sys/devices/system/node/node${n.id}/distance`), n.distance, `node${n.id} distance`);
    }
  });
  test(`${file}: node and /proc meminfo have the real layout line for line`, () => {
    const section = parseSections(readFileSync(file, 'utf8')).sections.get('meminfo');
    const pairs = real.nodes.map((n) => [readText(fs, `/sys/devices/system/node/node${n.id}/meminfo`), n.meminfo]);
    if (section?.kind === 'text') pairs.push([readText(fs, '/proc/meminfo'), section.text]);
    assert.ok(pairs.length > real.nodes.length, 'the log has /proc/meminfo');
    for (const [oursText, theirsText] of pairs) sameLayout(oursText!, theirsText!);
  });
  test(`${file}: /proc/device-tree lists the same paths, /openhcl bytes identical`, () => {
    assert.equal(listing(k), [...real.deviceTree].sort());
    for (const [path, bytes] of Object.entries(real.openhcl)) assert.equal(fs.read(path), bytes, path);
  });
  test(`${file}: /sys/firmware/fdt is the blob and /proc/cmdline the command line`, () => {
    assert.equal(fs.read('/sys/firmware/fdt'), real.fdt);
    assert.is(readText(fs, '/proc/cmdline'), real.cmdline);
  });
}

test.run();
