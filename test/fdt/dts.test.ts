import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { guessValueType, printDts, readFdt, writeFdt } from '../../lib/fdt/index.ts';
import { DTS_CASES } from './cases.ts';
import { dtbToDts, dtsToDtb } from './dtc.ts';

for (const c of DTS_CASES) {
  test(`printDts of "${c.name}" equals dtc -I dtb -O dts text`, () => {
    const blob = dtsToDtb(c.source);
    assert.fixture(printDts(readFdt(blob)), dtbToDts(blob).text);
  });
  test(`dtc compiles printDts of "${c.name}" back to the same blob`, () => {
    const blob = writeFdt(c.tree);
    assert.equal(dtsToDtb(printDts(c.tree)), blob);
  });
}

// Real-world blobs shipped with qemu, when present on this machine.
for (const f of ['/usr/share/qemu/bamboo.dtb', '/usr/share/qemu/canyonlands.dtb']) {
  if (!existsSync(f)) continue;
  test(`printDts of ${f} equals dtc's text, and it writes back byte-identical`, () => {
    const blob = new Uint8Array(readFileSync(f));
    const fdt = readFdt(blob);
    assert.fixture(printDts(fdt), dtbToDts(blob).text);
    assert.equal(writeFdt(fdt), blob);
  });
}

const b = (...x: number[]): Uint8Array => Uint8Array.from(x);
const s = (text: string): Uint8Array => new TextEncoder().encode(text);
const GUESSES: Array<[string, Uint8Array, ReturnType<typeof guessValueType>]> = [
  ['one string', s('abc\0'), 'string'],
  ['string list', s('a\0b\0'), 'string'],
  ['as many NULs as characters', s('ab\0\0'), 'string'],
  ['more NULs than characters', s('a\0\0\0'), 'cells'],
  ['lone NUL', b(0), 'bytes'],
  ['no final NUL, 4 bytes', s('abcd'), 'cells'],
  ['no final NUL, 3 bytes', s('abc'), 'bytes'],
  ['non-printable byte', b(0x61, 0x7f, 0x62, 0), 'cells'],
  ['tab is a string byte', s('\t\0'), 'string'],
];
for (const [why, value, type] of GUESSES) {
  test(`guessValueType: ${why} → ${type}`, () => {
    assert.is(guessValueType(value), type);
  });
}

test.run();
