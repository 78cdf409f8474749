import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { applyOverrides, splitPath } from '../../lib/config/overrides.ts';
import type { VmConfig } from '../../lib/config/schema.ts';
import { isHclError } from '../../lib/errors.ts';

const base = {
  name: 'vm',
  vps: [{ reg: 0, vnode: 0 }, { reg: 1, vnode: 0 }],
  cmdline: { static: 's', policy: 'static', host: 'h' },
  sidecar: 'on',
  keepAlive: { nvme: true },
  mmio: { vtl0: [{ base: 1, size: 2 }, { base: 3, size: 4 }] },
} as unknown as VmConfig;

const good: Array<[string, string, unknown]> = [
  ['cmdline.host=foo bar=1', 'cmdline.host', 'foo bar=1'],
  ['cmdline.policy=append-chosen', 'cmdline.policy', 'append-chosen'],
  ['sidecar=off', 'sidecar', 'off'],
  ['keepAlive=false', 'keepAlive.nvme', false],
  ['vps[1].vnode=3', 'vps[1].vnode', 3],
  ['mmio.vtl0[1]={"base":5,"size":6}', 'mmio.vtl0[1]', { base: 5, size: 6 }],
];
for (const [text, path, value] of good) {
  test(`--set ${text} sets ${path}`, () => {
    const { config, applied } = applyOverrides(base, [text]);
    assert.equal(applied, [{ path, value }]);
    let at: unknown = config;
    for (const k of splitPath(path)) at = (at as Record<string | number, unknown>)[k];
    assert.equal(at, value);
  });
}

test('overrides never touch the input config', () => {
  applyOverrides(base, ['cmdline.host=x', 'vps[0].reg=9']);
  assert.is(base.cmdline.host, 'h');
  assert.is(base.vps[0]?.reg, 0);
});

const bad: Array<[string, string]> = [
  ['nokey', 'expected KEY=VALUE'],
  ['=x', 'expected KEY=VALUE'],
  ['a..b=1', 'not a config path'],
  ['nosuch=1', 'no such setting'],
  ['cmdline.nosuch=1', 'no such setting'],
  ['vps[0].vnode=abc', 'is not a number'],
  ['keepAlive=maybe', 'is not a boolean'],
  ['name.x=1', 'does not exist in the config'],
  ['vps.x=1', "index does not match the config's shape"],
  ['mmio.vtl0[0]={oops', 'value must be JSON here'],
];
for (const [text, msg] of bad) {
  test(`--set ${text} is OVERRIDE_INVALID (${msg})`, () => {
    try {
      applyOverrides(base, [text]);
      assert.unreachable();
    } catch (e) {
      assert.ok(isHclError(e, 'OVERRIDE_INVALID'), String(e));
      assert.match((e as Error).message, msg);
    }
  });
}

test.run();
