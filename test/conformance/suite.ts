import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../../harness/commands/program.ts';
import { hermeticEnv } from '../cli.ts';

/**
 * The CLI conformance suite (issue 13), run against a real `hclckpt` binary: the repo's
 * bin/hclckpt.mjs in `npm test`, the binary of the installed `npm pack` tarball in CI. For
 * every command --help exits 0; a bad value for every option that takes one exits 2 with one
 * `hclckpt: error CODE:` line and no stack; output into a closed pipe exits 0 silently; --json
 * parses; NO_COLOR=1 output has no escape codes.
 */

const ESC = '\u001b[';

/** One refused option value: the command, the option under test, full argv and the codes allowed. */
interface BadValue {
  cmd: string;
  opt: string;
  args: string[];
  /** The codes allowed (usually one). */
  codes: string[];
}

/** Every command path (`igvm build`) with the long names of its options that take a value. */
async function commandTree(): Promise<Array<{ path: string; valueOptions: string[] }>> {
  const out: Array<{ path: string; valueOptions: string[] }> = [];
  const walk = (c: Command, path: string[]) => {
    for (const s of c.commands) {
      const p = [...path, s.name()];
      out.push({ path: p.join(' '), valueOptions: s.options.filter((o) => o.required || o.optional).map((o) => o.long ?? o.flags) });
      walk(s, p);
    }
  };
  walk(await buildProgram(), []);
  return out;
}

/** Registers the suite for the binary `bin` (argv prefix: [node, script] or [path]) and returns it. */
export function conformance(bin: string[], label: string) {
  const t = suite(`cli conformance (${label})`);
  const dir = mkdtempSync(join(tmpdir(), 'hclckpt-conformance-'));
  const f = (name: string) => join(dir, name);
  const store = f('store');
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const r = spawnSync(bin[0]!, [...bin.slice(1), ...args], { cwd: dir, env: hermeticEnv(env), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const ok = (args: string[]) => {
    const r = run(args);
    if (r.status !== 0) throw new Error(`fixture: hclckpt ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  };

  t.before(() => {
    writeFileSync(f('plain'), 'not a snapshot store\n');
    mkdirSync(f('adir'));
    ok(['save', '--preset', 'small', '--workload', '1:10', '--store', store]);
    ok(['save', '--preset', 'small', '--workload', '1:11', '--store', store]);
    ok(['igvm', 'build', '--preset', 'small', '-o', f('x.igvm')]);
    ok(['igvm', 'decode', f('x.igvm'), '-o', f('x.json')]);
    ok(['boot', '--preset', 'small', '--dtb-out', f('k.dtb'), '--show', 'cmdline']);
    ok(['init', '--preset', 'small', '-o', f('vm.json')]);
    ok(['export', 'small@1', f('a.hclsnap'), '--store', store]);
    ok(['schema', 'dump', '-o', f('schema.json')]);
  });
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  const storeCase = (cmd: string, args: string[]): BadValue => ({ cmd, opt: '--store', args: [...cmd.split(' '), ...args, '--store', f('plain')], codes: ['USAGE'] });
  const bad = (cmd: string, opt: string, args: string[], code: string): BadValue => ({ cmd, opt, args: [...cmd.split(' '), ...args], codes: [code] });
  const S = ['--store', store];
  const cases: BadValue[] = [
    bad('init', '--preset', ['--preset', 'nope', '-o', '-'], 'PRESET_UNKNOWN'),
    bad('init', '--output', ['-o', f('plain')], 'FILE_EXISTS'),
    bad('igvm decode', '--output', [f('x.igvm'), '-o', f('adir')], 'FILE_NOT_REGULAR'),
    bad('igvm encode', '--output', [f('x.json'), '-o', f('plain')], 'FILE_EXISTS'),
    bad('igvm build', '--config', ['--config', f('missing.json'), '-o', f('new.igvm')], 'FILE_NOT_FOUND'),
    bad('igvm build', '--preset', ['--preset', 'nope', '-o', f('new.igvm')], 'PRESET_UNKNOWN'),
    bad('igvm build', '--usermode-version', ['--usermode-version', '', '-o', f('new.igvm')], 'USAGE'),
    bad('igvm build', '--output', ['-o', f('missing-dir/x.igvm')], 'FILE_IO'),
    storeCase('ls', []), storeCase('log', ['small']), storeCase('verify', []), storeCase('rm', ['small@1']), storeCase('gc', []),
    storeCase('export', ['small@1', f('new.hclsnap')]), storeCase('import', [f('a.hclsnap')]), storeCase('save', ['--preset', 'small']),
    storeCase('restore', ['small']), storeCase('cycle', ['--cycles', '1']), storeCase('demo', ['--preset', 'small']), storeCase('show', ['small']),
    storeCase('diff', ['small@1', 'small@2']), storeCase('prop', ['--list']), storeCase('kernel check', ['--snapshot', 'small']),
    storeCase('store repair', []),
    ...([['ls', []], ['log', ['small']], ['verify', []], ['rm', ['small@1']], ['gc', []], ['export', ['small@1', f('new.hclsnap')]],
      ['import', [f('a.hclsnap')]], ['store repair', []], ['kernel check', ['--snapshot', 'small']], ['save', ['--preset', 'small']],
      ['restore', ['small']], ['cycle', ['--cycles', '1']], ['demo', ['--preset', 'small']], ['show', ['small']], ['diff', ['small@1', 'small@2']],
      ['prop', ['--list']]] as Array<[string, string[]]>).map(([cmd, args]) => bad(cmd, '--max-snapshot-bytes', [...args, '--max-snapshot-bytes', '1.5', ...S], 'USAGE')),
    bad('kernel check', '--config', ['--config', f('missing.json')], 'FILE_NOT_FOUND'),
    bad('kernel check', '--preset', ['--preset', 'nope'], 'PRESET_UNKNOWN'),
    bad('kernel check', '--snapshot', ['--snapshot', 'nosuch', ...S], 'STORE_NOT_FOUND'),
    bad('kernel check', '--set', ['--set', 'cmdline.host=x'], 'USAGE'),
    bad('kernel check', '--dtb', ['--dtb', f('missing.dtb')], 'FILE_NOT_FOUND'),
    bad('kernel check', '--keep', ['--preset', 'arm64-virt', '--keep', f('plain')], 'FILE_NOT_REGULAR'),
    bad('kernel check', '--timeout', ['--timeout', 'soon'], 'USAGE'),
    bad('boot', '--config', ['--config', f('missing.json')], 'FILE_NOT_FOUND'),
    bad('boot', '--preset', ['--preset', 'nope'], 'PRESET_UNKNOWN'),
    bad('boot', '--show', ['--show', 'everything'], 'USAGE'),
    bad('boot', '--dtb-out', ['--dtb-out', f('missing-dir/k.dtb')], 'FILE_IO'),
    bad('boot', '--host-dtb-out', ['--host-dtb-out', f('plain')], 'FILE_EXISTS'),
    bad('boot', '--procfs-out', ['--procfs-out', f('plain')], 'FILE_NOT_REGULAR'),
    bad('save', '--config', ['--config', f('plain'), ...S], 'JSON_INVALID'),
    bad('save', '--preset', ['--preset', 'nope', ...S], 'PRESET_UNKNOWN'),
    bad('save', '--workload', ['--workload', 'abc', ...S], 'USAGE'),
    bad('save', '--name', ['--name', 'bad name!', ...S], 'USAGE'),
    bad('save', '--generation', ['--generation', 'old', ...S], 'USAGE'),
    bad('save', '--timeout-hint', ['--timeout-hint', '0', ...S], 'USAGE'),
    bad('restore', '--set', ['small', '--set', 'sidecar=sometimes', ...S], 'CONFIG_INVALID'),
    bad('restore', '--config', ['small', '--config', f('missing.json'), ...S], 'FILE_NOT_FOUND'),
    bad('restore', '--igvm', ['small', '--igvm', f('plain'), ...S], 'IGVM_INVALID_FIXED_HEADER'),
    bad('restore', '--workload', ['small', '--workload', '1:x', ...S], 'USAGE'),
    bad('cycle', '--config', ['--cycles', '1', '--config', f('missing.json'), ...S], 'FILE_NOT_FOUND'),
    bad('cycle', '--preset', ['--cycles', '1', '--preset', 'nope', ...S], 'PRESET_UNKNOWN'),
    bad('cycle', '--cycles', ['--cycles', '0', ...S], 'USAGE'),
    bad('cycle', '--seed', ['--cycles', '1', '--seed', 'abc', '--steps', 'xyz', ...S], 'USAGE'),
    bad('cycle', '--steps', ['--cycles', '1', '--steps', '-3', ...S], 'USAGE'),
    bad('demo', '--preset', ['--preset', 'nope', '--store', f('demo')], 'PRESET_UNKNOWN'),
    bad('show', '--unit', ['small', '--unit', 'nosuch', ...S], 'STATE_UNKNOWN_UNIT'),
    bad('bench', '--plot', ['--plot', f('adir')], 'FILE_NOT_REGULAR'),
    bad('schema dump', '--output', ['-o', f('plain')], 'FILE_EXISTS'),
    bad('diff', '--context', ['small@1', 'small@2', '--unified', '--context', '-1', ...S], 'USAGE'),
    bad('prop', '--runs', ['--runs', '0', ...S], 'USAGE'),
    bad('prop', '--seed', ['--seed', 'abc', ...S], 'USAGE'),
    bad('prop', '--only', ['--only', 'nosuch', '--runs', '1', ...S], 'USAGE'),
    bad('prop', '--workers', ['--workers', '0', ...S], 'USAGE'),
    bad('prop', '--max-vps', ['--max-vps', '0', ...S], 'USAGE'),
    bad('prop', '--shard', ['--shard', '3/2', '--seed', '1', ...S], 'USAGE'),
    bad('prop', '--merge', ['--merge', f('missing-store'), ...S], 'STORE_NOT_FOUND'),
    bad('prop', '--replay', ['--replay', 'nosuch', ...S], 'STORE_NOT_FOUND'),
  ];
  const conflicts: string[][] = [
    ['prop', '--list', '--replay', 'x', ...S], ['prop', '--list', '--only', 'store-model', '--runs', '5', ...S],
    ['prop', '--merge', f('missing-store'), '--list', ...S], ['prop', '--merge', f('missing-store'), '--shard', '1/2', '--seed', '1', ...S],
    ['boot', '--json', '--show', 'cmdline'], ['diff', 'small@1', 'small@2', '--json', '--unified', ...S],
    ['diff', 'small@1', 'small@2', '--context', '5', ...S], ['boot', '--force'], ['restore', 'small', '--json', '--verbose', ...S],
    ['igvm', 'decode', f('x.igvm'), '--force'], ['schema', 'dump', '--force'], ['bench', '--force'], ['init', '-o', '-', '--force'],
    ['init', '-o', '-', '--json'],
  ];

  /** Exit 2 and exactly one `hclckpt: error CODE: message` line, no stack, no NaN. */
  const refused = (args: string[], codes: string[]) => {
    const r = run(args);
    const what = `hclckpt ${args.join(' ')}`;
    assert.is(r.status, 2, `${what}: exit ${r.status}\n${r.stderr}`);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    assert.is(lines.length, 1, `${what}: one stderr line:\n${r.stderr}`);
    const m = /^hclckpt: error ([A-Z0-9_]+): \S/.exec(lines[0]!);
    assert.ok(m !== null && codes.includes(m[1]!), `${what}: want ${codes.join('|')}, got: ${lines[0]}`);
    assert.not.ok(/\bNaN\b/.test(r.stderr), `${what}: echoes NaN`);
  };

  t('every command and group: --help exits 0 with usage on stdout and nothing on stderr', async () => {
    for (const { path } of await commandTree()) {
      const r = run([...path.split(' '), '--help']);
      assert.is(r.status, 0, `${path} --help: ${r.stderr}`);
      assert.ok(r.stdout.startsWith(`Usage: hclckpt ${path}`), `${path} --help: ${r.stdout.slice(0, 80)}`);
      assert.is(r.stderr, '');
    }
  });

  t('every option that takes a value has a bad-value case here', async () => {
    const covered = new Set(cases.map((c) => `${c.cmd} ${c.opt}`));
    const missing = (await commandTree()).flatMap(({ path, valueOptions }) => valueOptions.map((o) => `${path} ${o}`)).filter((k) => !covered.has(k));
    assert.equal(missing, []);
  });

  for (const c of cases) t(`bad value: ${c.cmd} ${c.opt} → exit 2, ${c.codes.join('|')}`, () => refused(c.args, c.codes));
  for (const args of conflicts) t(`conflicting or ignored flags refused: ${args.filter((a) => a.startsWith('-') && a !== '--store').join(' ')}`, () => refused(args, ['USAGE']));
  t('usage errors from commander are one line too (unknown option, command, missing argument)', () => {
    for (const args of [['ls', '--colour'], ['lss'], ['restore'], ['cycle', ...S]]) refused(args, ['USAGE']);
  });

  const jsonRuns = [
    ['ls', '--json', ...S], ['log', 'small', '--json', ...S], ['verify', '--json', ...S], ['show', 'small@1', ...S], ['show', f('a.hclsnap'), '--json'],
    ['boot', '--preset', 'numa', '--json'], ['igvm', 'inspect', f('x.igvm'), '--json'], ['igvm', 'decode', f('x.igvm')], ['dt', 'dump', f('k.dtb'), '--json'],
    ['init', '--preset', 'numa', '-o', '-'], ['diff', 'small@1', 'small@2', '--json', ...S], ['schema', 'check', f('schema.json'), f('schema.json'), '--json'],
    ['prop', '--list', '--json', ...S], ['gc', '--json', ...S], ['restore', 'small', '--json', ...S],
  ];
  for (const args of jsonRuns) {
    t(`--json parses: hclckpt ${args.filter((a) => !a.startsWith(dir)).slice(0, 3).join(' ')}`, () => {
      const r = run(args);
      assert.is(r.status, 0, r.stderr);
      assert.not.throws(() => JSON.parse(r.stdout), r.stdout.slice(0, 200));
    });
  }

  const textRuns = [['diff', 'small@1', 'small@2', ...S], ['prop', '--list', ...S], ['ls', ...S], ['schema', 'check', f('schema.json'), f('schema.json')], ['log', 'small', ...S]];
  for (const args of textRuns) {
    t(`NO_COLOR=1: no escape codes from hclckpt ${args.slice(0, 2).join(' ')}`, () => {
      const r = run(args, { NO_COLOR: '1' });
      assert.is(r.status, 0, r.stderr);
      assert.ok(r.stdout.length > 0);
      assert.not.ok(r.stdout.includes(ESC) || r.stderr.includes(ESC), r.stdout.slice(0, 200));
    });
  }
  // Every command that prints on success (kernel and bench need qemu or a minute: left out).
  const piped = [
    ['igvm', 'decode', f('x.igvm')], ['boot', '--preset', 'large', '--show', 'dt'], ['restore', 'small', ...S],
    ['dt', 'dump', f('k.dtb')], ['--help'], ['save', '--preset', 'small', '--store', f('pipe-store')],
    ['cycle', '--cycles', '1', '--steps', '5', '--store', f('pipe-store')], ['demo', '--preset', 'small', '--store', f('pipe-demo')],
    ['igvm', 'build', '--preset', 'small', '-o', f('pipe.igvm')], ['schema', 'dump'], ['export', 'small@1', f('pipe.hclsnap'), ...S],
    ['import', f('a.hclsnap'), ...S], ...jsonRuns, ...textRuns,
  ];
  for (const args of piped) {
    t(`closed pipe: hclckpt ${args.filter((a) => !a.startsWith(dir)).slice(0, 3).join(' ')} | head -c 1 exits 0, stderr empty`, () => {
      // bash reports the writer's status; stderr goes to a file so the pipe is only stdout.
      const script = 'set -o pipefail; "$@" 2>"$ERR" | head -c 1 >/dev/null; echo "status=${PIPESTATUS[0]}"; cat "$ERR"';
      const r = spawnSync('bash', ['-c', script, 'bash', ...bin, ...args], { cwd: dir, env: hermeticEnv({ ERR: f('pipe.err') }), encoding: 'utf8' });
      assert.is(r.stdout, 'status=0\n', `${args.join(' ')}: ${r.stdout}`);
    });
  }

  t('FORCE_COLOR=1 turns colour on without a TTY (so the NO_COLOR checks can fail)', () => {
    for (const args of [['diff', 'small@1', 'small@2', ...S], ['prop', '--list', ...S]]) {
      const r = run(args, { FORCE_COLOR: '1' });
      assert.ok(r.stdout.includes(ESC), `${args.join(' ')}: ${r.stdout.slice(0, 200)}`);
    }
  });
  return t;
}
