import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as api from '../lib/index.ts';

const LIB = new URL('../lib/', import.meta.url).pathname;

test('every value lib/index.ts exports is defined once loaded (a cycle would leave one undefined)', () => {
  const values = Object.entries(api);
  assert.ok(values.length >= 60, `only ${values.length} values exported`);
  for (const [name, v] of values) assert.ok(v !== undefined, `${name} is undefined`);
});

test('the public API reaches real behaviour: a cpio written through it reads back', () => {
  const bytes = api.writeCpio({ 'bin/x': new Uint8Array([1, 2, 3]) });
  assert.equal(api.cpioFiles(api.readCpio(bytes)).get('bin/x'), new Uint8Array([1, 2, 3]));
});

test('no index in lib/ uses `export *`', () => {
  const indexes = [join(LIB, 'index.ts'), ...readdirSync(LIB, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('index.ts')).map((f) => join(LIB, f))];
  for (const f of indexes) assert.not.match(readFileSync(f, 'utf8'), /^\s*export \* /m, f);
});

test.run();
