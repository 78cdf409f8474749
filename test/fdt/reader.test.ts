import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFdt, fdtNode, prop, writeFdt, DEFAULT_FDT_LIMITS } from '../../lib/fdt/index.ts';
import type { FdtReadOptions } from '../../lib/fdt/index.ts';
import { isHclError, type HclErrorCode } from '../../lib/errors.ts';
import { DTS_CASES } from './cases.ts';
import { dtsToDtb } from './dtc.ts';

for (const c of DTS_CASES) {
  test(`dtc's blob of "${c.name}" reads as the expected tree`, () => {
    assert.equal(readFdt(dtsToDtb(c.source)), c.tree);
  });
}

test('a version 16 blob from dtc -V 16 reads as the same tree', () => {
  const c = DTS_CASES[3]!;
  const blob = dtsToDtb(c.source, 16);
  assert.is(new DataView(blob.buffer).getUint32(20, false), 16);
  assert.equal(readFdt(blob), c.tree);
});

test('boot_cpuid_phys comes from the header', () => {
  const blob = writeFdt({ bootCpuidPhys: 3, reservations: [], root: fdtNode('') });
  assert.is(readFdt(blob).bootCpuidPhys, 3);
});

test('the default limits are documented values', () => {
  assert.equal({ ...DEFAULT_FDT_LIMITS }, { maxDepth: 64, maxTotalSize: 32 * 1024 * 1024 });
});

// A valid blob to damage: root with one property and one child with a property.
const GOOD = writeFdt({
  bootCpuidPhys: 0,
  reservations: [{ address: 0x1000n, size: 0x10n }],
  root: fdtNode('', [prop.u32('a', 1)], [fdtNode('n', [prop.str('b', 'x')])]),
});
const u32At = (b: Uint8Array, at: number): number => new DataView(b.buffer, b.byteOffset).getUint32(at, false);
const OFF_STRUCT = u32At(GOOD, 8);
const OFF_STRINGS = u32At(GOOD, 12);
const SIZE_STRUCT = u32At(GOOD, 36);

function patch(b: Uint8Array, ...edits: Array<[number, number]>): Uint8Array {
  const out = b.slice();
  const dv = new DataView(out.buffer);
  for (const [at, v] of edits) dv.setUint32(at, v, false);
  return out;
}

/** A blob whose structure block is replaced by the given u32 words (strings block unchanged). */
function withStruct(words: number[]): Uint8Array {
  const strings = GOOD.subarray(OFF_STRINGS);
  const struct = new Uint8Array(words.length * 4);
  words.forEach((w, i) => new DataView(struct.buffer).setUint32(i * 4, w, false));
  const out = new Uint8Array(OFF_STRUCT + struct.length + strings.length);
  out.set(GOOD.subarray(0, OFF_STRUCT));
  out.set(struct, OFF_STRUCT);
  out.set(strings, OFF_STRUCT + struct.length);
  return patch(out, [4, out.length], [12, OFF_STRUCT + struct.length], [36, struct.length]);
}
const NAME_N = 0x6e000000; // "n\0" padded
const NAME_ROOTX = 0x78000000; // "x\0" padded

const BAD: Array<{ why: string; blob: Uint8Array; code: HclErrorCode; message: string; options?: Partial<FdtReadOptions> }> = [
  { why: 'three bytes', blob: GOOD.subarray(0, 3), code: 'FDT_TRUNCATED', message: 'cannot decode fdt header at 0x0: premature end of data' },
  { why: 'header cut short', blob: GOOD.subarray(0, 30), code: 'FDT_TRUNCATED', message: 'premature end of data' },
  { why: 'blob shorter than totalsize', blob: GOOD.subarray(0, GOOD.length - 1), code: 'FDT_TRUNCATED', message: `totalsize ${GOOD.length} is past the end of the ${GOOD.length - 1}-byte input` },
  { why: 'bad magic', blob: patch(GOOD, [0, 0xdeadbeef]), code: 'FDT_BAD_MAGIC', message: 'bad magic 0xdeadbeef' },
  { why: 'version 15', blob: patch(GOOD, [20, 15]), code: 'FDT_BAD_VERSION', message: 'version 15 (last compatible 16)' },
  { why: 'last compatible 18', blob: patch(GOOD, [24, 18]), code: 'FDT_BAD_VERSION', message: 'last compatible 18' },
  { why: 'totalsize below header', blob: patch(GOOD, [4, 20]), code: 'FDT_BAD_HEADER', message: 'totalsize 20 is smaller than the 40-byte header' },
  { why: 'struct block past totalsize', blob: patch(GOOD, [36, GOOD.length]), code: 'FDT_BAD_HEADER', message: 'structure block' },
  { why: 'strings block past totalsize', blob: patch(GOOD, [32, 0xffff_fff0]), code: 'FDT_BAD_HEADER', message: 'strings block' },
  { why: 'misaligned reservation block', blob: patch(GOOD, [16, 44]), code: 'FDT_BAD_HEADER', message: 'memory reservation block at 0x2c' },
  { why: 'struct offset inside header', blob: patch(GOOD, [8, 8]), code: 'FDT_BAD_HEADER', message: 'structure block at 0x8' },
  { why: 'unknown token', blob: patch(GOOD, [OFF_STRUCT, 7]), code: 'FDT_BAD_STRUCTURE', message: `fdt structure at 0x${OFF_STRUCT.toString(16)}: unknown token 0x7` },
  { why: 'name offset past strings', blob: patch(GOOD, [OFF_STRUCT + 16, 999]), code: 'FDT_BAD_STRUCTURE', message: 'property name offset 999 is outside the strings block' },
  { why: 'missing END token', blob: patch(GOOD, [36, SIZE_STRUCT - 4]), code: 'FDT_BAD_STRUCTURE', message: 'cannot decode fdt structure block' },
  { why: 'root with a name', blob: withStruct([1, NAME_ROOTX, 2, 9]), code: 'FDT_BAD_STRUCTURE', message: 'root node name must be empty, found "x"' },
  { why: 'property after child', blob: withStruct([1, 0, 1, NAME_N, 2, 3, 0, 0, 2, 9]), code: 'FDT_BAD_STRUCTURE', message: 'property after a child node in "/"' },
  { why: 'END_NODE first', blob: withStruct([2, 9]), code: 'FDT_BAD_STRUCTURE', message: 'END_NODE outside any node' },
  { why: 'END inside a node', blob: withStruct([1, 0, 9]), code: 'FDT_BAD_STRUCTURE', message: 'END inside node "/"' },
  { why: 'END before root', blob: withStruct([4, 9]), code: 'FDT_BAD_STRUCTURE', message: 'END before the root node' },
  { why: 'two roots', blob: withStruct([1, 0, 2, 1, 0, 2, 9]), code: 'FDT_BAD_STRUCTURE', message: 'second root node' },
  { why: 'property longer than the block', blob: withStruct([1, 0, 3, 1000, 0, 2, 9]), code: 'FDT_BAD_STRUCTURE', message: 'premature end of data (need 1000 bytes' },
  { why: 'unterminated reservation block', blob: patch(GOOD, [16, GOOD.length - 16]), code: 'FDT_BAD_STRUCTURE', message: 'cannot decode fdt memory reservation block' },
  { why: 'depth over the limit', blob: withStruct([1, 0, 1, NAME_N, 1, NAME_N, 2, 2, 2, 9]), code: 'FDT_TOO_DEEP', message: 'nesting deeper than 2 nodes', options: { maxDepth: 2 } },
  { why: 'totalsize over the limit', blob: GOOD, code: 'FDT_TOO_LARGE', message: `totalsize ${GOOD.length} exceeds the limit of 64 bytes`, options: { maxTotalSize: 64 } },
];

for (const c of BAD) {
  test(`${c.why}: ${c.code}`, () => {
    try {
      readFdt(c.blob, c.options);
      assert.unreachable('read a bad blob');
    } catch (e) {
      assert.ok(isHclError(e, c.code), `expected ${c.code}, got ${String(e)}`);
      assert.match((e as Error).message, c.message);
    }
  });
}

test('NOP tokens are skipped anywhere in the structure block', () => {
  const fdt = readFdt(withStruct([4, 1, 0, 4, 1, NAME_N, 4, 2, 4, 2, 4, 9]));
  assert.equal(fdt.root, fdtNode('', [], [fdtNode('n')]));
});

test.run();
