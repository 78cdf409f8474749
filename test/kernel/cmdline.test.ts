import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initArgs, isKernelParam, splitCmdline } from '../../lib/kernel/index.ts';
import { isHclError } from '../../lib/errors.ts';

// Expected results follow lib/cmdline.c next_arg.
const SPLITS: Array<[string, Array<[string, string | undefined]>]> = [
  ['', []],
  ['  a  b=1 ', [['a', undefined], ['b', '1']]],
  ['K="a b" x', [['K', 'a b'], ['x', undefined]]],
  ['"K=a b" x', [['K', 'a b'], ['x', undefined]]],
  ['"quoted word"', [['quoted word', undefined]]],
  ['a"b c"d', [['a"b c"d', undefined]]],
  ['K=a=b', [['K', 'a=b']]],
  ['K=', [['K', '']]],
  ['K="', [['K', '']]],
  ['=x', [['=x', undefined]]],
  ['a\tb\nc', [['a', undefined], ['b', undefined], ['c', undefined]]],
  ['K="a\\" b', [['K', 'a\\'], ['b', undefined]]],
];
for (const [text, expected] of SPLITS) {
  test(`splitCmdline ${JSON.stringify(text)}`, () => {
    assert.equal(splitCmdline(text).map((a) => [a.key, a.value]), expected);
  });
}

test('kernel parameters: the shim-generated ones, dotted module params, dash/underscore equivalent', () => {
  for (const k of ['loglevel', 'log_buf_len', 'printk.time', 'console', 'rdinit', 'clearcpuid', 'iommu', 'pci', 'acpi', 'swiotlb', 'boot_cpus', 'hv_vmbus.message_connection_id', 'panic', 'earlycon', 'boot-cpus']) {
    assert.ok(isKernelParam(k), k);
  }
  for (const k of ['OPENHCL_SIDECAR', 'UNDERHILL_X', 'FOO']) assert.not.ok(isKernelParam(k), k);
});

test('init gets unknown KEY=VAL as env (later wins), other words and everything after -- as argv', () => {
  const line = 'loglevel=8 printk.time=1 OPENHCL_A=1 OPENHCL_B="x y" single OPENHCL_A=2 console=ttyS0 -- OPENHCL_C=3 z';
  const { env, argv } = initArgs(splitCmdline(line));
  assert.equal(env, { HOME: '/', TERM: 'linux', OPENHCL_A: '2', OPENHCL_B: 'x y' });
  assert.equal(argv, ['single', 'OPENHCL_C=3', 'z']);
});

test('more boot env vars than Linux holds fails like Linux ("too many boot env vars")', () => {
  const ok = Array.from({ length: 31 }, (_, i) => `E${i}=1`).join(' ');
  assert.is(Object.keys(initArgs(splitCmdline(ok)).env).length, 33);
  try {
    initArgs(splitCmdline(`${ok} E31=1`));
    assert.unreachable();
  } catch (e) {
    assert.ok(isHclError(e, 'KERNEL_BOOT_FAILED'));
    assert.match((e as Error).message, 'too many boot env vars at `E31\'');
  }
});

test.run();
