import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isHclError } from '../../lib/errors.ts';
import { igvmFromJson, igvmToJson, readIgvm, writeIgvm, type IgvmFileInput } from '../../lib/igvm/index.ts';
import { aarch64File, v2x64File, x64File } from './fixtures.ts';

const samples: Array<[string, () => IgvmFileInput]> = [['v1 x64', x64File], ['v2 x64', v2x64File], ['v2 aarch64', aarch64File]];

for (const [name, make] of samples) {
  test(`${name}: decode → JSON text → encode reproduces the file byte for byte`, () => {
    const b = writeIgvm(make());
    const text = JSON.stringify(igvmToJson(readIgvm(b), b));
    const again = writeIgvm(igvmFromJson(JSON.parse(text)));
    assert.ok(Buffer.from(again).equals(Buffer.from(b)));
  });
}

test('JSON shows u64 as 0x strings, data blobs with file offsets, and the file digest', () => {
  const b = writeIgvm(x64File());
  const f = readIgvm(b);
  const j = igvmToJson(f, b);
  const pageIdx = f.headers.findIndex((h) => h.kind === 'PAGE_DATA' && h.gpa === 0x3000n);
  const page = j.headers[pageIdx] as { gpa: string; data: { fileOffset: number; size: number; hex: string }; offset: number };
  assert.is(page.gpa, '0x3000');
  assert.is(page.offset, f.headerOffsets[pageIdx]);
  assert.is(page.data.size, 4096);
  assert.is(page.data.hex, Buffer.from(b.subarray(page.data.fileOffset, page.data.fileOffset + 4096)).toString('hex'));
  assert.is(j.file?.size, b.length);
  assert.is(j.fixedHeader.checksum, f.fixedHeader.checksum);
});

test('u64 fields accept decimal strings and numbers as well as 0x strings', () => {
  const base = igvmToJson(readIgvm(writeIgvm(v2x64File())));
  const forms = ['0', 0, '0x0'];
  for (const form of forms) {
    const j = structuredClone(base);
    (j.headers[1] as Record<string, unknown>)['gpa'] = form;
    const input = igvmFromJson(j);
    assert.is(input.headers[1]?.kind === 'PAGE_DATA' && input.headers[1].gpa, 0n);
  }
});

const broken: Array<[string, (j: Record<string, unknown>) => unknown, string]> = [
  ['not an object', () => 5, '$: expected an object'],
  ['bad version', (j) => ({ ...j, revision: { version: 3 } }), 'revision.version: expected 1 or 2'],
  ['bad arch', (j) => ({ ...j, revision: { version: 2, arch: 'riscv' } }), 'revision.arch'],
  ['headers missing', (j) => ({ ...j, headers: undefined }), 'headers: expected an array'],
  ['unknown kind', (j) => ({ ...j, headers: [{ kind: 'NOPE' }] }), 'headers[0].kind: unknown header kind "NOPE"'],
  ['u64 out of range', (j) => patchHeader(j, 1, 'gpa', '0x10000000000000000'), 'headers[1].gpa: expected a u64'],
  ['u32 as garbage', (j) => patchHeader(j, 0, 'compatibilityMask', 'one'), 'headers[0].compatibilityMask: expected a u32'],
  ['odd hex', (j) => patchHeader(j, 1, 'data', { hex: 'abc' }), 'headers[1].data.hex: expected an even-length hex string'],
  ['blob missing', (j) => patchHeader(j, 1, 'data', undefined), 'headers[1].data: expected an object with hex'],
];

function patchHeader(j: Record<string, unknown>, i: number, key: string, value: unknown): unknown {
  const headers = structuredClone(j['headers']) as Array<Record<string, unknown>>;
  (headers[i] as Record<string, unknown>)[key] = value;
  return { ...j, headers };
}

for (const [name, mutate, msg] of broken) {
  test(`rejects JSON with ${name} as IGVM_JSON_INVALID naming the path`, () => {
    const j = JSON.parse(JSON.stringify(igvmToJson(readIgvm(writeIgvm(v2x64File()))))) as Record<string, unknown>;
    try {
      igvmFromJson(mutate(j));
      assert.unreachable('parsed');
    } catch (e) {
      assert.ok(isHclError(e, 'IGVM_JSON_INVALID'), String(e));
      assert.ok((e as Error).message.includes(msg), (e as Error).message);
    }
  });
}

test.run();
