import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  COMMAND_LINE_MAX, SHIM_PARAMS_SIZE, decodeCommandLinePage, decodeMeasuredConfig, decodeShimParams, defaultLayout,
  encodeCommandLinePage, encodeMeasuredConfig, encodeShimParams, type ShimParams,
} from '../../lib/abi/shim-params.ts';
import { expectError } from '../shim/expect.ts';

// Order and sizes from openvmm vm/loader/src/paravisor.rs load_openhcl_x64: persisted-state region
// (2 MiB) at the memory start, bounce buffer (SNP/TDX, 2 MiB), kernel, sidecar (2 MiB aligned), shim,
// initrd, then the configuration pages.
test('default layout: every region inside VTL2, page-aligned, disjoint, in order', () => {
  const l = defaultLayout();
  assert.is(l.vtl2.gpa, 0x800_0000n);
  assert.is(l.vtl2.size, 0x400_0000n);
  assert.equal(l.persisted, { gpa: 0x800_0000n, size: 0x20_0000n });
  assert.is(l.bounceBuffer.size, 0n);
  assert.is(l.kernel.gpa, 0x820_0000n);
  const cvm = defaultLayout(undefined, undefined, { isolation: 'tdx' });
  assert.equal(cvm.bounceBuffer, { gpa: 0x820_0000n, size: 0x20_0000n });
  assert.is(cvm.kernel.gpa, 0x840_0000n);
  const regions = [l.persisted, l.kernel, l.sidecar, l.shim, l.initrd, l.cmdlinePage, l.reserved, l.paramRegion, l.logBuffer, l.heap];
  for (let i = 0; i < regions.length; i++) {
    const r = regions[i]!;
    assert.is(r.gpa % 0x1000n, 0n);
    assert.ok(r.gpa >= l.vtl2.gpa && r.gpa + r.size <= l.vtl2.gpa + l.vtl2.size);
    if (i > 0) assert.ok(regions[i - 1]!.gpa + regions[i - 1]!.size <= r.gpa, `region ${i} overlaps the one before`);
  }
  assert.is(l.kernel.gpa % 0x20_0000n, 0n);
  assert.is(l.sidecar.gpa % 0x20_0000n, 0n);
  assert.is(l.used.gpa + l.used.size, l.heap.gpa + l.heap.size);
  assert.is(defaultLayout(undefined, undefined, { arch: 'aarch64' }).sidecar.size, 0n);
});

test('shim params round trip through bytes; offsets are relative to the shim base', () => {
  const l = defaultLayout(0x1000_0000n, 0x200_0000n, { isolation: 'snp', initrdCrc: 0xdeadbeef, initrdSize: 0x1234 });
  const bytes = encodeShimParams(l.params);
  assert.is(bytes.length, SHIM_PARAMS_SIZE);
  const back = decodeShimParams(bytes);
  assert.equal(back, l.params);
  assert.is(back.supportedIsolationType, 2);
  assert.is(l.shim.gpa + back.cmdlineOffset, l.cmdlinePage.gpa);
  assert.is(l.shim.gpa + back.persistedStateRegionOffset, l.persisted.gpa);
});

const bad: Array<[string, Partial<ShimParams>, string]> = [
  ['isolation out of range', { supportedIsolationType: 7 as 0 }, 'isolation type 7'],
  ['unaligned heap', { heapStartOffset: 0x10010n }, 'heap at offset'],
  ['persisted region outside vtl2', { persistedStateRegionOffset: 0x400_0000n }, 'persisted-state region at offset'],
  ['empty vtl2 memory', { memorySize: 0n }, 'vtl2 memory'],
  ['used range past vtl2', { usedEnd: 0x500_0000n }, 'used range'],
];
for (const [name, change, text] of bad) {
  test(`shim params: ${name} is SHIM_PARAMS_INVALID`, () => {
    const p = { ...defaultLayout().params, ...change };
    expectError(() => decodeShimParams(encodeShimParams(p)), 'SHIM_PARAMS_INVALID', text);
  });
}

test('shim params: bad magic and truncation', () => {
  expectError(() => decodeShimParams(new Uint8Array(SHIM_PARAMS_SIZE)), 'SHIM_PARAMS_INVALID', 'bad magic');
  expectError(() => decodeShimParams(encodeShimParams(defaultLayout().params).subarray(0, 40)), 'SHIM_PARAMS_INVALID', 'premature end');
});

test('layout that does not fit is refused', () => {
  expectError(() => defaultLayout(0x800_0000n, 0x40_0000n), 'SHIM_VTL2_MEMORY_INVALID', 'image needs');
});

test('command line page: layout, round trip, limits', () => {
  const page = encodeCommandLinePage({ policy: 'append-chosen', line: 'OPENHCL_SIDECAR=off ü' });
  assert.is(page.length, 4096);
  assert.equal([...page.subarray(0, 4)], [1, 0, 22, 0]);
  assert.equal(decodeCommandLinePage(page), { policy: 'append-chosen', line: 'OPENHCL_SIDECAR=off ü' });
  assert.equal(decodeCommandLinePage(encodeCommandLinePage({ policy: 'static', line: 'x'.repeat(COMMAND_LINE_MAX) })).line.length, COMMAND_LINE_MAX);
  expectError(() => encodeCommandLinePage({ policy: 'static', line: 'x'.repeat(COMMAND_LINE_MAX + 1) }), 'SHIM_CMDLINE_TOO_LONG', '4093 bytes');
  const p2 = page.slice(); p2[0] = 2;
  expectError(() => decodeCommandLinePage(p2), 'SHIM_PARAMS_INVALID', 'policy 2');
  const p3 = page.slice(); p3[2] = 0xff; p3[3] = 0xff;
  expectError(() => decodeCommandLinePage(p3), 'SHIM_PARAMS_INVALID', 'length 65535');
  const p4 = page.slice(); p4[4] = 0xff;
  expectError(() => decodeCommandLinePage(p4), 'SHIM_PARAMS_INVALID', 'UTF-8');
});

test('measured config page: magic OHCLVTL2', () => {
  const page = encodeMeasuredConfig({ vtomOffsetBit: 46 });
  assert.is(new TextDecoder().decode(page.subarray(0, 8)), 'OHCLVTL2');
  assert.equal(decodeMeasuredConfig(page), { vtomOffsetBit: 46 });
  expectError(() => decodeMeasuredConfig(new Uint8Array(16)), 'SHIM_PARAMS_INVALID', 'OHCLVTL2');
});

test.run();
