import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MemoryLevel } from 'memory-level';
import { runCli } from '../cli.ts';
import { defaultRegistry } from '../../lib/snapshot/registry.ts';
import { schemaDumpWithReach } from '../../lib/diff/index.ts';
import { SnapshotStore } from '../../lib/store/index.ts';
import { tempDir } from '../store/helpers.ts';
import { IO0, bootedUnits, decodedOf } from './helpers.ts';
import { INIT_TYPE, InitStateSchema, encodeFields } from '../../lib/state/index.ts';

const cli = runCli;

test('schema dump: stable JSON of the registry, to stdout and to a file', async () => {
  const dir = await tempDir('hclckpt-schema-');
  const r = await cli('schema', 'dump');
  assert.is(r.status, 0);
  assert.equal(JSON.parse(r.stdout), JSON.parse(JSON.stringify(schemaDumpWithReach())));
  const file = join(dir, 's.json');
  assert.is((await cli('schema', 'dump', '-o', file)).status, 0);
  assert.is((await import('node:fs')).readFileSync(file, 'utf8'), r.stdout);
});

test('schema check: exit 0 on identical dumps, exit 1 with SCHEMA_INCOMPATIBLE and the break listed', async () => {
  const dir = await tempDir('hclckpt-schema-');
  const dump = defaultRegistry().schemaDump();
  const [a, b] = [join(dir, 'a.json'), join(dir, 'b.json')];
  await writeFile(a, JSON.stringify(dump));
  const broken = structuredClone(dump);
  broken.units = broken.units.filter((u) => u.name !== 'rtc.cmos');
  await writeFile(b, JSON.stringify(broken));
  const ok = await cli('schema', 'check', a, a);
  assert.is(ok.status, 0);
  assert.ok(ok.stdout.includes('compatible: 0 compatible changes'), ok.stdout);
  const bad = await cli('schema', 'check', a, b);
  assert.is(bad.status, 1);
  assert.ok(bad.stdout.includes('BREAKING rtc.cmos (unit): unit-removed (breaks backward)'), bad.stdout);
  assert.ok(bad.stderr.includes('error SCHEMA_INCOMPATIBLE: schema check'), bad.stderr);
  const json = await cli('schema', 'check', a, b, '--json');
  assert.equal((JSON.parse(json.stdout) as { breaking: Array<{ unit: string; kind: string }> }).breaking.map((f) => [f.unit, f.kind]), [['rtc.cmos', 'unit-removed']]);
  const missing = await cli('schema', 'check', a, join(dir, 'nope.json'));
  assert.is(missing.status, 2);
  assert.ok(missing.stderr.includes('error FILE_NOT_FOUND: '), missing.stderr);
});

test('diff: two .hclsnap files one workload step apart, text, --json, --unified, --exit-code', async () => {
  const dir = await tempDir('hclckpt-diff-');
  const store = await SnapshotStore.open({ db: new MemoryLevel() });
  const u = bootedUnits();
  const files: string[] = [];
  for (const step of [0, 1]) {
    if (step === 1) u.nvme.submit(0, 1, 9);
    const d = decodedOf(u);
    const parts = Object.entries(d.units).map(([n, x]) => ({ name: `unit/${n}`, bytes: defaultRegistry().encodeState(n, x.generation, x.state), meta: { generation: x.generation, package: x.package } }));
    parts.push({ name: 'init', bytes: encodeFields(InitStateSchema, d.init), meta: { generation: 3, package: INIT_TYPE } });
    const put = await store.putSnapshot({ name: 'vm', parts, info: { generation: 1 }, time: '2025-01-01T00:00:00Z', tool: 't' });
    files.push(join(dir, `s${step}.hclsnap`));
    await store.exportSnapshot(put.id, files[step] ?? '');
  }
  await store.close();
  const [a, b] = files as [string, string];
  const text = await cli('diff', a, b);
  assert.is(text.status, 0);
  // The init state decodes from its field numbers and diffs by field name.
  assert.ok(text.stdout.includes(`${IO0}.sqState.tail: 0 → 1`), text.stdout);
  const json = JSON.parse((await cli('diff', a, b, '--json')).stdout) as { changes: Array<{ path: string }> };
  assert.equal(json.changes.map((c) => c.path), [`${IO0}.pendingCmds.commands[0]`, `${IO0}.sqState.committedTail`, `${IO0}.sqState.tail`]);
  const uni = await cli('diff', a, b, '--unified');
  assert.ok(uni.stdout.includes(`--- ${a}\n+++ ${b}\n`), uni.stdout);
  assert.is((await cli('diff', a, b, '--exit-code')).status, 1);
  assert.is((await cli('diff', a, a, '--exit-code')).status, 0);
  const both = await cli('diff', a, b, '--json', '--unified');
  assert.is(both.status, 2);
  assert.ok(both.stderr.includes('error USAGE: diff: --json and --unified exclude each other'));
});

test.run();
