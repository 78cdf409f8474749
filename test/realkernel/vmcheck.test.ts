// The real-kernel check of a booted VM without qemu: a captured serial log of the 4-node / 16-VP
// CI config against the model ProcFs the pipeline builds for it, with planted mismatches; the
// qemu machine derived from a config; and the command line's refusals.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { loadConfig, presetConfig, topologyFromConfig, type VmConfig } from '../../lib/config/index.ts';
import { isHclError } from '../../lib/errors.ts';
import { boot } from '../../harness/pipeline.ts';
import { runCli } from '../cli.ts';
import { compareWithModel, formatDifferences, overlayProcFs, parseReport, shapeFromTopology, virtMpidr } from '../../harness/realkernel/index.ts';

const CONFIG = 'test/realkernel/configs/virt-4node-16vp.json';
const LOG = 'test/realkernel/fixtures/virt-4node-16vp.serial.txt';

const config = await loadConfig(CONFIG);
const vm = boot(config);
const real = parseReport(readFileSync(LOG, 'latin1'));
const baseline = compareWithModel(real, vm.kernel.procfs, vm.shim.dtb);
/** What Linux reported for one of the files the planted cases touch. */
function realText(path: string): string | undefined {
  const node = /^\/sys\/devices\/system\/node\/node(\d+)\/(cpulist|distance)$/.exec(path);
  if (node !== null) return real.nodes.find((n) => n.id === Number(node[1]))?.[node[2] as 'cpulist' | 'distance'];
  if (path === '/sys/devices/system/cpu/online') return real.cpu.online;
  if (path === '/sys/devices/system/node/online') return real.node.online;
  return path === '/proc/cmdline' ? real.cmdline : undefined;
}
const key = (d: { path: string; model: string; real: string }): string => `${d.path}|${d.model}|${d.real}`;

test('captured boot: the model agrees with Linux on every cpu and node file', () => {
  const topo = baseline.filter((d) => d.path.startsWith('/sys/devices/system/'));
  assert.equal(topo, [], formatDifferences(topo));
  assert.is(real.nodes.length, 4);
});

// Each plants one wrong file in the model; the check must report exactly that file, model vs real.
const planted: Array<{ name: string; path: string; text: string }> = [
  { name: 'a cpu missing from a cpulist', path: '/sys/devices/system/node/node1/cpulist', text: '1,5,9\n' },
  { name: 'a range where Linux lists cpus', path: '/sys/devices/system/node/node0/cpulist', text: '0-3\n' },
  { name: 'one cpu short online', path: '/sys/devices/system/cpu/online', text: '0-14\n' },
  { name: 'a swapped distance row', path: '/sys/devices/system/node/node2/distance', text: '30 22 10 15\n' },
  { name: 'a node too few', path: '/sys/devices/system/node/online', text: '0-2\n' },
  { name: 'a command line without its newline', path: '/proc/cmdline', text: real.cmdline.trimEnd() },
];
for (const p of planted) {
  test(`planted mismatch (${p.name}) is reported as ${p.path}, model vs real`, () => {
    const got = compareWithModel(real, overlayProcFs(vm.kernel.procfs, { [p.path]: p.text }), vm.shim.dtb);
    const before = new Set(baseline.map(key));
    const added = got.filter((d) => !before.has(key(d)));
    const want = realText(p.path) ?? assert.unreachable(`no real text for ${p.path}`);
    assert.equal(added, [{ path: p.path, model: p.text, real: want }], formatDifferences(added));
    assert.match(formatDifferences(added), `${p.path}\n  model: ${JSON.stringify(p.text)}\n  real:  ${JSON.stringify(want)}`);
  });
}

const at = (c: VmConfig): ReturnType<typeof shapeFromTopology> => shapeFromTopology(c, topologyFromConfig(c));

test('qemu machine of the 4-node config: interleaved cpus, VTL2 RAM in node 0, other nodes memoryless', () => {
  const shape = at(config);
  assert.is(shape.cpus, config.vps.length);
  assert.is(shape.gicVersion, config.aarch64?.gicVersion);
  assert.equal(shape.nodes.map((n) => n.cpus), config.numa.map((_, id) => config.vps.flatMap((v, i) => (v.vnode === id ? [i] : []))));
  assert.equal(shape.nodes.map((n) => n.memBytes), config.numa.map((_, id) => (id === config.vtl2.vnode ? config.vtl2.size : 0)));
});

test('virtMpidr: qemu virt clusters of 16 cpus under GICv3, 8 under GICv2', () => {
  for (const [i, v, want] of [[0, 3, 0], [15, 3, 0xf], [16, 3, 0x100], [17, 3, 0x101], [7, 2, 7], [8, 2, 0x100], [19, 2, 0x203]] as const) {
    assert.is(virtMpidr(i, v), want, `cpu ${i} GICv${v}`);
  }
});

test('a VP MPIDR qemu virt does not give that cpu is refused before booting (PSCI CPU_ON would fail)', () => {
  const c = structuredClone(config);
  c.vps[5] = { reg: 0x105, vnode: c.vps[5]!.vnode };
  try {
    at(c);
    assert.unreachable('accepted');
  } catch (e) {
    assert.ok(isHclError(e, 'CONFIG_INVALID'), String(e));
    assert.match((e as Error).message, 'vps[5].reg is MPIDR 0x105, but qemu virt (GICv3) gives cpu 5 MPIDR 0x5');
  }
});

/** Runs `hclckpt kernel ...` in this process; returns exit code and stderr. */
const cli = (...args: string[]) => runCli('kernel', ...args);

const refusals: Array<{ args: string[]; code: string; msg: string }> = [
  { args: ['check', '--preset', 'small'], code: 'USAGE', msg: 'x86 Linux takes CPUs, NUMA and memory from ACPI/e820' },
  { args: ['check', '--preset', 'arm64-virt', '--config', CONFIG], code: 'USAGE', msg: 'give --config or --preset, not both' },
  { args: ['check', '--set', 'cmdline.host=x'], code: 'USAGE', msg: '--set applies to a restore; give --snapshot REF' },
  { args: ['check', '--snapshot', 'vm', '--preset', 'arm64-virt'], code: 'USAGE', msg: 'use --config FILE for a whole new one' },
  { args: ['check', '--dtb', 'x.dtb', '--config', CONFIG], code: 'USAGE', msg: '--dtb boots a file on its own' },
  { args: ['check', '--timeout', '0'], code: 'USAGE', msg: '--timeout "0": expected a positive number' },
];
for (const r of refusals) {
  test(`kernel ${r.args.join(' ')}: ${r.code}`, async () => {
    const out = await cli(...r.args);
    assert.is(out.status, 2, out.stderr);
    assert.match(out.stderr, `hclckpt: error ${r.code}: `);
    assert.match(out.stderr, r.msg);
  });
}

test('kernel check without setup: KERNEL_SETUP_FAILED names the command to run', async () => {
  const prev = process.env['HCLCKPT_KERNEL_DIR'];
  process.env['HCLCKPT_KERNEL_DIR'] = '/nonexistent/hclckpt-kernel';
  try {
    const out = await cli('check', '--config', 'test/realkernel/configs/virt-1node-1vp.json');
    assert.is(out.status, 2, out.stderr);
    assert.match(out.stderr, 'error KERNEL_SETUP_FAILED: kernel check: no kernel assets in /nonexistent/hclckpt-kernel; run `hclckpt kernel setup` first');
  } finally {
    if (prev === undefined) delete process.env['HCLCKPT_KERNEL_DIR'];
    else process.env['HCLCKPT_KERNEL_DIR'] = prev;
  }
});

test('the arm64-virt preset boots on qemu virt (its MPIDRs are the ones qemu gives)', () => {
  const c = presetConfig('arm64-virt');
  assert.is(at(c).cpus, c.vps.length);
});

test.run();
