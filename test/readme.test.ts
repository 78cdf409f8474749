import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { codesTable } from '../harness/readme-codes.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

test('README lists every error code with its exit code (npm run readme:codes regenerates it)', () => {
  assert.ok(readme.includes(codesTable()), 'README error-code table is stale: run npm run readme:codes');
});

test('README starts with the two set-up commands', () => {
  const lines = readme.split('\n').slice(0, 6).join('\n');
  assert.match(lines, /npm ci && npx hclckpt demo/);
  assert.match(lines, /npm ci && npm test/);
});

test.run();
