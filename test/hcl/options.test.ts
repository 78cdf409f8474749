import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isHclError } from '../../lib/errors.ts';
import { initEnvFromCmdline, parseHclOptions, splitCmdline } from '../../lib/hcl/options.ts';

test('defaults apply when nothing is set', () => {
  const o = parseHclOptions({});
  assert.equal(o, {
    nvmeKeepAlive: false, disableNvmeKeepAlive: false, nvmeVfio: false, sidecar: 'on', confidential: false,
    confidentialDebug: false, testConfig: undefined, gpaPoolConfig: 'release', enableVtl2GpaPool: undefined,
    gpaPoolNuma: false, waitForStart: false, reformatVmgs: false, hideIsolation: false,
  });
});

const GOOD: Array<[Record<string, string>, (o: ReturnType<typeof parseHclOptions>) => unknown, unknown]> = [
  [{ OPENHCL_NVME_VFIO: '1' }, (o) => o.nvmeVfio, true],
  [{ UNDERHILL_NVME_VFIO: 'true' }, (o) => o.nvmeVfio, true],
  [{ OPENHCL_NVME_VFIO: '0', UNDERHILL_NVME_VFIO: '1' }, (o) => o.nvmeVfio, false],
  [{ OPENHCL_NVME_KEEP_ALIVE: 'host,privatepool' }, (o) => o.nvmeKeepAlive, true],
  [{ OPENHCL_NVME_KEEP_ALIVE: 'nohost,privatepool' }, (o) => o.nvmeKeepAlive, false],
  [{ OPENHCL_NVME_KEEP_ALIVE: 'disabled' }, (o) => o.nvmeKeepAlive, false],
  // underhill_core options.rs KeepAliveConfig::from_str: "enabled" is host,privatepool, case is
  // ignored; the shim's opt-out form and host,noprivatepool are off; anything else is off (a warning there).
  [{ OPENHCL_NVME_KEEP_ALIVE: 'ENABLED' }, (o) => o.nvmeKeepAlive, true],
  [{ OPENHCL_NVME_KEEP_ALIVE: 'Host,PrivatePool' }, (o) => o.nvmeKeepAlive, true],
  [{ OPENHCL_NVME_KEEP_ALIVE: 'disabled,host,privatepool' }, (o) => o.nvmeKeepAlive, false],
  [{ OPENHCL_NVME_KEEP_ALIVE: 'host,noprivatepool' }, (o) => o.nvmeKeepAlive, false],
  [{ OPENHCL_NVME_KEEP_ALIVE: 'host,fast' }, (o) => o.nvmeKeepAlive, false],
  [{ OPENHCL_NVME_KEEP_ALIVE: '1' }, (o) => o.nvmeKeepAlive, false],
  [{ OPENHCL_SIDECAR: 'OFF' }, (o) => o.sidecar, 'off'],
  [{ OPENHCL_TEST_CONFIG: 'SERVICING_RESTORE_STUCK' }, (o) => o.testConfig, 'SERVICING_RESTORE_STUCK'],
  [{ OPENHCL_IGVM_VTL2_GPA_POOL_CONFIG: 'debug' }, (o) => o.gpaPoolConfig, 'debug'],
  [{ OPENHCL_IGVM_VTL2_GPA_POOL_CONFIG: '0x200' }, (o) => o.gpaPoolConfig, { pages: 512 }],
  [{ UNDERHILL_ENABLE_VTL2_GPA_POOL: '64' }, (o) => o.enableVtl2GpaPool, 64],
];
for (const [env, get, want] of GOOD) {
  test(`parses ${JSON.stringify(env)}`, () => assert.equal(get(parseHclOptions(env)), want));
}

const BAD: Array<[Record<string, string>, string]> = [
  [{ OPENHCL_NVME_VFIO: 'yes' }, 'OPENHCL_NVME_VFIO="yes": expected 1, 0, true or false'],
  [{ UNDERHILL_CONFIDENTIAL: '2' }, 'UNDERHILL_CONFIDENTIAL="2"'],
  [{ OPENHCL_SIDECAR: 'maybe' }, 'OPENHCL_SIDECAR="maybe": expected one of on, off, log'],
  [{ OPENHCL_TEST_CONFIG: 'CRASH' }, 'OPENHCL_TEST_CONFIG'],
  [{ OPENHCL_IGVM_VTL2_GPA_POOL_CONFIG: 'lots' }, 'OPENHCL_IGVM_VTL2_GPA_POOL_CONFIG'],
  [{ OPENHCL_ENABLE_VTL2_GPA_POOL: '-1' }, 'OPENHCL_ENABLE_VTL2_GPA_POOL'],
];
for (const [env, message] of BAD) {
  test(`rejects ${JSON.stringify(env)}`, () => {
    try {
      parseHclOptions(env);
      assert.unreachable('accepted');
    } catch (e) {
      assert.ok(isHclError(e, 'HCL_DISCOVERY_INVALID'));
      assert.match(e.message, `options: ${message}`);
    }
  });
}

test('splitCmdline follows the kernel quoting rules', () => {
  const cases: Array<[string, Array<[string, string | undefined]>]> = [
    ['a=1  b', [['a', '1'], ['b', undefined]]],
    ['K="x y" z', [['K', 'x y'], ['z', undefined]]],
    ['"K=x y"', [['K', 'x y']]],
    ['K=a"b c"d e', [['K', 'a"b c"d'], ['e', undefined]]],
    ['  ', []],
    ['K= x', [['K', ''], ['x', undefined]]],
  ];
  for (const [line, want] of cases) {
    assert.equal(splitCmdline(line).map((w) => [w.key, w.value]), want, line);
  }
});

test('initEnvFromCmdline keeps upper-case KEY=VAL words before --, later words win', () => {
  assert.equal(initEnvFromCmdline('loglevel=8 hv_vmbus.x=1 OPENHCL_A=1 quiet OPENHCL_A="2 3" X_Y=z -- OPENHCL_B=1'), {
    OPENHCL_A: '2 3',
    X_Y: 'z',
  });
});

test.run();
