import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalJson, decodeSnapshot, diffSnapshots, diffToJson, renderText, renderUnified, changePath } from '../../lib/diff/index.ts';
import { useColour } from '../../harness/commands/colour.ts';
import { defaultRegistry } from '../../lib/snapshot/registry.ts';
import { readArchive } from '../../lib/store/index.ts';
import { SnapshotStore } from '../../lib/store/index.ts';
import { MemoryLevel } from 'memory-level';
import { join } from 'node:path';
import { tempDir } from '../store/helpers.ts';
import { IO0, bootedUnits, decodedOf } from './helpers.ts';

// ANSI escape introducer; colour output has it, plain output must not.
const ESC = '\u001b[';

function stepPair() {
  const u = bootedUnits();
  const a = decodedOf(u);
  const before = u.nvme.view().controllers[0]?.ioQueues[0]?.sqTail ?? -1;
  u.nvme.submit(0, 1, 7);
  u.rtc.view(); // no change: rtc must not appear
  const b = decodedOf(u, {}, 'vm', 2);
  return { a, b, before, after: u.nvme.view().controllers[0]?.ioQueues[0]?.sqTail ?? -1 };
}

test('text: one line per change, arrow form, header and count, no colour when off', () => {
  const { a, b, before, after } = stepPair();
  const text = renderText(diffSnapshots(a, b), false);
  assert.ok(text.includes(`  ${IO0}.sqState.tail: ${before} → ${after}\n`), text);
  assert.ok(text.includes(`+ ${IO0}.pendingCmds.commands[0]: `), text);
  assert.ok(text.startsWith('diff vm@1 '), text);
  assert.ok(text.endsWith('3 differences\n'), text);
  assert.not.ok(text.includes(ESC));
  assert.not.ok(text.includes('rtc'));
});

test('text: colour codes only when asked', () => {
  const { a, b } = stepPair();
  assert.ok(renderText(diffSnapshots(a, b), true).includes(ESC));
  assert.ok(renderText(diffSnapshots(a, a), false).includes('no differences'));
});

const COLOUR_CASES: Array<[boolean, NodeJS.ProcessEnv, boolean]> = [
  [true, {}, true], [true, { NO_COLOR: '' }, true], [true, { NO_COLOR: '1' }, false], [false, {}, false], [false, { NO_COLOR: '1' }, false],
  [false, { FORCE_COLOR: '1' }, true], [false, { FORCE_COLOR: '' }, true], [true, { FORCE_COLOR: '0' }, false], [true, { FORCE_COLOR: 'false', NO_COLOR: '1' }, false],
  [false, { FORCE_COLOR: '1', NO_COLOR: '1' }, true],
];
for (const [tty, env, want] of COLOUR_CASES) {
  test(`useColour: tty=${tty} ${JSON.stringify(env)} → ${want}`, () => {
    assert.is(useColour({ isTTY: tty }, env), want);
  });
}

test('text: byte ranges shown as [start..end] (n bytes) with hex', () => {
  const a = { manifest: {}, units: { rtc: { package: 'p', generation: 1, state: { cmos: new Uint8Array(64) } } } };
  const cmos = new Uint8Array(64);
  cmos.fill(0xab, 0x10, 0x20);
  const b = { manifest: {}, units: { rtc: { package: 'p', generation: 1, state: { cmos } } } };
  const d = diffSnapshots(a, b, undefined);
  const c = d.units['rtc']?.[0];
  assert.ok(c !== undefined);
  assert.is(changePath(c), 'rtc.cmos[0x10..0x1f] (16 bytes)');
  assert.ok(renderText(d, false).includes(`rtc.cmos[0x10..0x1f] (16 bytes): ${'00'.repeat(16)} → ${'ab'.repeat(16)}`));
});

test('json: every change is one entry, JSON-serialisable, bigint and bytes in canonical form', () => {
  const { a, b, before, after } = stepPair();
  a.init = { ...(a.init as object), big: 1n, raw: new Uint8Array([1]) };
  b.init = { ...(b.init as object), big: 2n, raw: new Uint8Array([2]) };
  const j = JSON.parse(JSON.stringify(diffToJson(diffSnapshots(a, b)))) as ReturnType<typeof diffToJson>;
  assert.equal(j.changes.map((c) => [c.section, c.path, c.kind]), [
    ['unit', 'init.big', 'changed'],
    ['unit', `${IO0}.pendingCmds.commands[0]`, 'added'],
    ['unit', `${IO0}.sqState.committedTail`, 'changed'],
    ['unit', `${IO0}.sqState.tail`, 'changed'],
    ['unit', 'init.raw', 'changed'],
  ]);
  assert.equal([j.changes[0]?.from, j.changes[0]?.to], ['1n', '2n']);
  assert.equal([j.changes[3]?.from, j.changes[3]?.to], [before, after]);
  assert.equal([j.changes[4]?.from, j.changes[4]?.to, j.changes[4]?.range], ['hex:01', 'hex:02', { start: 0, end: 1 }]);
});

test('canonical json: sorted keys, bigint as "123n", bytes as hex', () => {
  assert.is(canonicalJson({ b: 1n, a: new Uint8Array([0xde, 0xad]), c: undefined }), '{\n  "a": "hex:dead",\n  "b": "1n"\n}');
  assert.is(canonicalJson({ z: 1, a: 2 }), canonicalJson({ a: 2, z: 1 }));
});

test('unified: a patch of the canonical JSON with the changed lines', () => {
  const { a, b, before, after } = stepPair();
  const patch = renderUnified(a, b, ['vm@1', 'vm@2']);
  assert.ok(patch.includes('--- vm@1\n+++ vm@2\n'), patch);
  // sqState's keys sort committedTail, head, len, sqid, tail: the tail is its last line.
  assert.ok(new RegExp(`^- +"tail": ${before}$`, 'm').test(patch), patch);
  assert.ok(new RegExp(`^\\+ +"tail": ${after}$`, 'm').test(patch), patch);
  // The pending Read (opcode 02h) with CID 7 in CDW0 bits 16..31, little-endian.
  assert.ok(/^\+ +"command": "hex:02000700/m.test(patch), patch);
  assert.is(renderUnified(a, a).split('\n').filter((l) => l.startsWith('@@')).length, 0);
});

test('decodeSnapshot: an exported .hclsnap decodes to the state that was saved', async () => {
  const u = bootedUnits();
  const want = decodedOf(u);
  const store = await SnapshotStore.open({ db: new MemoryLevel() });
  const parts = Object.entries(want.units).map(([n, x]) => ({ name: `unit/${n}`, bytes: defaultRegistry().encodeState(n, x.generation, x.state), meta: { generation: x.generation, package: x.package } }));
  const put = await store.putSnapshot({ name: 'vm', parts, info: { generation: 1 }, time: '2025-01-01T00:00:00Z', tool: 't' });
  const file = join(await tempDir('hclckpt-diff-'), 'a.hclsnap');
  await store.exportSnapshot(put.id, file);
  const got = decodeSnapshot(await readArchive(file));
  assert.equal(got.units, want.units);
  assert.is(got.manifest.id, put.id);
  assert.ok(diffSnapshots(got, { ...want, manifest: got.manifest }).manifest.length === 0);
  await store.close();
});

test.run();
