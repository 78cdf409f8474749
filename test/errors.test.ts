import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HclError, isHclError } from '../lib/errors.ts';

test('HclError carries code, cause and exit code', () => {
  const cause = new Error('inner');
  const e = new HclError('FDT_TRUNCATED', 'cannot decode DTB at 0x0: premature end of data', { cause });
  assert.is(e.code, 'FDT_TRUNCATED');
  assert.is(e.cause, cause);
  assert.is(e.exitCode, 2);
  assert.is(new HclError('TOPOLOGY_MISMATCH', 'x').exitCode, 1);
});

test('isHclError checks the code, not the class', () => {
  assert.ok(isHclError({ code: 'STORE_LOCKED', message: 'x' }));
  assert.ok(isHclError(new HclError('STORE_LOCKED', 'x'), 'STORE_LOCKED'));
  assert.not.ok(isHclError(new HclError('STORE_LOCKED', 'x'), 'STORE_CORRUPT'));
  assert.not.ok(isHclError({ code: 'ENOENT' }));
  assert.not.ok(isHclError(null));
});

test.run();
