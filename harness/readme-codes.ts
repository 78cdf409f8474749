// `npm run readme:codes`: rewrites README's error-code table from lib/errors.ts, so the two
// cannot drift (test/readme.test.ts fails when they do).
import { readFileSync, writeFileSync } from 'node:fs';
import { ERROR_CODES } from '../lib/errors.ts';

const START = '<!-- error-codes:start -->';
const END = '<!-- error-codes:end -->';

/** The markdown table of every error code and its exit code. */
export function codesTable(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, exit]) => `| \`${code}\` | ${exit} |`);
  return ['| code | exit |', '|---|---|', ...rows].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = readFileSync('README.md', 'utf8');
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error('README.md has no error-codes markers');
  writeFileSync('README.md', `${text.slice(0, a + START.length)}\n${codesTable()}\n${text.slice(b)}`);
}
