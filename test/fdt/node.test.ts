import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fdtNode, prop, propIs, propString } from '../../lib/fdt/index.ts';
import { isHclError } from '../../lib/errors.ts';

// propIs is `propString(node, name) === s` without decoding a match: the same answer and the
// same error for every shape of value.
const node = fdtNode('cpu@0', [
  prop.str('status', 'okay'),
  prop.str('other', 'okay2'),
  prop.strs('list', ['okay', 'x']),
  prop.bytes('unterminated', new Uint8Array([0x6f, 0x6b])),
  prop.empty('empty'),
  prop.bytes('prefix', new Uint8Array([0x6f, 0x6b, 0x61, 0x79, 0x00, 0x00])),
]);

for (const name of ['status', 'other', 'missing']) {
  test(`propIs agrees with propString on "${name}"`, () => {
    assert.is(propIs(node, name, 'okay'), propString(node, name) === 'okay');
  });
}

test('propIs matches only the exact string, NUL-terminated', () => {
  assert.equal([propIs(node, 'status', 'okay'), propIs(node, 'status', 'ok'), propIs(node, 'status', 'okayy'), propIs(node, 'missing', 'okay')], [true, false, false, false]);
});

for (const name of ['list', 'unterminated', 'empty', 'prefix']) {
  test(`propIs throws as propString does for "${name}"`, () => {
    const errorOf = (fn: () => unknown): string => {
      try {
        fn();
        return 'no error';
      } catch (e) {
        assert.ok(isHclError(e, 'FDT_BAD_PROPERTY'), String(e));
        return (e as Error).message;
      }
    };
    assert.is(errorOf(() => propIs(node, name, 'okay')), errorOf(() => propString(node, name)));
    assert.is.not(errorOf(() => propString(node, name)), 'no error');
  });
}

test.run();
