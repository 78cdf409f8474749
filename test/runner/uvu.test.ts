import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

/**
 * uvu's reporter formats a thrown error's `details` field as a diff string; an HclError that
 * carried an object there crashed the reporter, printed no FAIL line, skipped the rest of the
 * file and exited 0. This runs uvu on a fixture whose test throws an HclError and checks uvu
 * reports it as the failure it is.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));

test('a test that throws an HclError is reported as FAIL and uvu exits non-zero', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'node_modules/uvu/bin.js', 'test/runner/fixtures', 'throws-hcl-error\\.ts$'], {
    cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  const out = r.stdout.replace(/\x1b\[[0-9;]*m/g, '');
  assert.is(r.status, 1, `uvu exit ${String(r.status)}\n${out}\n${r.stderr}`);
  assert.match(out, /FAIL .*"throws an HclError"/);
  assert.match(out, /fixture: planted failure/);
  assert.match(out, /Total:\s+2/);
  assert.match(out, /Passed:\s+1/, 'the test after the failing one still ran and passed');
});

test.run();
