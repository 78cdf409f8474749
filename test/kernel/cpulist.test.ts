import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatCpuList, parseCpuList } from '../../lib/kernel/index.ts';
import { isHclError } from '../../lib/errors.ts';

const CASES: Array<[number[], string]> = [
  [[], ''],
  [[0], '0'],
  [[0, 1], '0-1'],
  [[0, 1, 2, 3, 8], '0-3,8'],
  [[1, 3, 5], '1,3,5'],
  [[0, 1, 2, 4, 5, 7, 9, 10, 11], '0-2,4-5,7,9-11'],
];
for (const [list, text] of CASES) {
  test(`formatCpuList ${JSON.stringify(list)} = "${text}" and parses back`, () => {
    assert.is(formatCpuList(list), text);
    assert.equal(parseCpuList(`${text}\n`), list);
  });
}

test('formatCpuList sorts and removes duplicates', () => {
  assert.is(formatCpuList([8, 3, 2, 1, 0, 3]), '0-3,8');
});

test('parseCpuList reads bitmap_parselist strides and spaces', () => {
  assert.equal(parseCpuList('0-7:2/4'), [0, 1, 4, 5]);
  assert.equal(parseCpuList(' 2 , 0-1'), [0, 1, 2]);
});

for (const bad of ['a', '3-1', '1,,2', '0-7:5/4', '-1', '99999999']) {
  test(`parseCpuList rejects "${bad}"`, () => {
    try {
      parseCpuList(bad);
      assert.unreachable();
    } catch (e) {
      assert.ok(isHclError(e, 'KERNEL_CPULIST_INVALID'), String(e));
      assert.match((e as Error).message, `cpu list "${bad}"`);
    }
  });
}

// The parser's cap: numbers up to 2^20 - 1 (lib/kernel/cpulist.ts MAX_CPU), as a single number
// and as a range end; one more is refused.
test('parseCpuList accepts 1048575 and refuses 1048576', () => {
  assert.equal(parseCpuList('1048575'), [1048575]);
  assert.equal(parseCpuList('1048574-1048575\n'), [1048574, 1048575]);
  for (const bad of ['1048576', '1048575-1048576']) {
    try {
      parseCpuList(bad);
      assert.unreachable(`${bad} accepted`);
    } catch (e) {
      assert.ok(isHclError(e, 'KERNEL_CPULIST_INVALID'), String(e));
      assert.match((e as Error).message, 'number above 1048575');
    }
  }
});

test.run();
