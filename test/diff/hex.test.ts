import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatValue, renderText } from '../../lib/diff/index.ts';
import { isHexField, pathKeys, withHexFields } from '../../lib/diff/hex.ts';
import type { SnapshotDiff } from '../../lib/diff/index.ts';

test('hex fields: registers, APIC IDs / MPIDRs, GPAs, range sizes; not counters or queue sizes', () => {
  for (const p of ['hv.vps[3].registers.rip', 'hv.vps[0].registers.apicBase', 'init.topology.vps[1].reg', 'nvme.controllers[0].acq',
    'synic.vps[2].messagePageGpa', 'init.topology.nodes[0].memory[0].size', 'init.topology.vtl2Ram.base', 'manifest.info.config.aarch64.gicDistributor']) {
    assert.ok(isHexField(pathKeys(p)), p);
  }
  for (const p of ['nvme.controllers[0].ioQueues[0].size', 'serial.16550.ports[0].txCount', 'rtc.cmos.clockNs', 'init.topology.vps[1].vnode', 'manifest.seq']) {
    assert.not.ok(isHexField(pathKeys(p)), p);
  }
});

test('withHexFields: integers at hex fields become 0x strings, everything else is kept', () => {
  const v = { vps: [{ index: 2, reg: 0x105, registers: { rip: 0xfff0n, cr0: 0x60000010n } }], vtl2Ram: { base: 2147483648, size: 134217728, vnode: 1 }, queue: { size: 256 } };
  assert.equal(withHexFields(v), {
    vps: [{ index: 2, reg: '0x105', registers: { rip: '0xfff0', cr0: '0x60000010' } }], vtl2Ram: { base: '0x80000000', size: '0x8000000', vnode: 1 }, queue: { size: 256 },
  });
});

test('formatValue: hex at a hex path, bigint with n elsewhere', () => {
  assert.is(formatValue(0xfee00900n, 'hv.vps[0].registers.apicBase'), '0xfee00900');
  assert.is(formatValue(2n, 'serial.16550.ports[0].txCount'), '2n');
  assert.is(formatValue(-1, 'hv.vps[0].registers.rax'), '-1');
});

test('renderText: two long strings show where they differ, with the rest elided', () => {
  const common = 'loglevel=8 console=ttyS0 '.repeat(6);
  const d: SnapshotDiff = {
    a: { name: 'vm@1', id: null }, b: { name: 'vm@2', id: null }, upgraded: [], unitsAdded: [], unitsRemoved: [],
    manifest: [{ path: 'manifest.info.config.cmdline.host', kind: 'changed', from: `${common}quiet tail=1`, to: `${common}debug tail=1` }], units: {},
  } as unknown as SnapshotDiff;
  const line = renderText(d, false).split('\n')[2]!;
  assert.match(line, '[-quiet-]{+debug+}');
  assert.match(line, '…');
  assert.ok(line.length < common.length, line);
});

test.run();
