import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isHclError, type HclErrorCode } from '../../lib/errors.ts';
import { configJsonSchema, jsonErrorOffset, loadConfig, presetConfig } from '../../lib/config/index.ts';

const dir = await mkdtemp(join(tmpdir(), 'hclckpt-config-'));

async function failsWith(p: Promise<unknown>, code: HclErrorCode, says: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.ok(isHclError(e, code), `expected ${code}, got ${String(e)}`);
    assert.match(e.message, says);
    return;
  }
  assert.unreachable(`expected ${code}`);
}

test('loadConfig round-trips a preset', async () => {
  const file = join(dir, 'ok.json');
  await writeFile(file, JSON.stringify(presetConfig('numa')));
  assert.equal(await loadConfig(file), presetConfig('numa'));
});

test('loadConfig: FILE_NOT_FOUND', () => failsWith(loadConfig(join(dir, 'missing.json')), 'FILE_NOT_FOUND', 'missing.json: no such file'));

// [text, line, column] of the first syntax error.
const BAD_JSON: Array<[string, number, number]> = [
  ['{\n  "a": }', 2, 8],
  ['{"a": 1,}', 1, 9],
  ['{\n\n  "a" 1}', 3, 7],
  ['{"a": [1, 2', 1, 12],
  ['{"a": tru}', 1, 7],
  ['{"a": "x\n"}', 1, 9],
  ['{} x', 1, 4],
];
for (const [text, line, col] of BAD_JSON) {
  test(`JSON_INVALID at line ${line} column ${col}: ${JSON.stringify(text)}`, async () => {
    assert.throws(() => JSON.parse(text));
    const file = join(dir, `bad-${line}-${col}.json`);
    await writeFile(file, text);
    await failsWith(loadConfig(file), 'JSON_INVALID', `${file}: invalid JSON at line ${line} column ${col}`);
  });
}

const GOOD_JSON = ['{"a":[1,-2.5e3,true,false,null,"\\u00e9\\n"]}', ' [ ] ', '"x"', '0'];
for (const text of GOOD_JSON) test(`jsonErrorOffset accepts ${text}`, () => assert.is(jsonErrorOffset(text), -1));

test('loadConfig validates and names the file', async () => {
  const file = join(dir, 'invalid.json');
  const c = presetConfig('small');
  c.vps[0]!.vnode = 9;
  await writeFile(file, JSON.stringify(c));
  await failsWith(loadConfig(file), 'CONFIG_INVALID', `${file}: 1 invalid field: vps[0].vnode: node 9 does not exist`);
});

test('configJsonSchema is plain JSON with the VmConfig id and fields', () => {
  const s = configJsonSchema();
  assert.is(s['$id'], 'VmConfig');
  assert.is(JSON.stringify(JSON.parse(JSON.stringify(s))), JSON.stringify(s));
  const props = s['properties'] as Record<string, unknown>;
  for (const k of Object.keys(presetConfig('arm64-virt'))) assert.ok(k in props, k);
});

test.run();
