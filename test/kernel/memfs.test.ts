import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fdtNode, prop, readFdt, writeFdt } from '../../lib/fdt/index.ts';
import type { FdtNode } from '../../lib/fdt/index.ts';
import { MemProcFs, type LazyDir } from '../../lib/kernel/index.ts';
import { type ProcFs } from '../../lib/abi/index.ts';
import { isHclError } from '../../lib/errors.ts';
import { bootFromParts } from './boot-helpers.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Every file and directory under `dir`, as path → bytes (directories map to their listing). */
function dump(fs: ProcFs, dir: string, out = new Map<string, string>()): Map<string, string> {
  out.set(`${dir}/`, fs.list(dir).join(','));
  for (const name of fs.list(dir)) {
    const p = dir === '/' ? `/${name}` : `${dir}/${name}`;
    try {
      out.set(p, Buffer.from(fs.read(p)).toString('hex'));
    } catch (e) {
      if (!isHclError(e, 'PROCFS_NOT_FOUND')) throw e;
    }
    try {
      dump(fs, p, out);
    } catch (e) {
      if (!isHclError(e, 'PROCFS_NOT_FOUND')) throw e;
    }
  }
  return out;
}

/** What /proc/device-tree must hold, added file by file in tree order (the reference semantics). */
function eagerDeviceTree(root: FdtNode): MemProcFs {
  const fs = new MemProcFs();
  const walk = (n: FdtNode, dir: string): void => {
    for (const p of n.properties) fs.add(`${dir}/${p.name}`, p.value);
    if (!n.properties.some((p) => p.name === 'name')) fs.add(`${dir}/name`, enc(`${n.name.split('@')[0]}\0`));
    for (const c of n.children) walk(c, `${dir}/${c.name}`);
  };
  walk(root, '/proc/device-tree');
  return fs;
}

function lazyTree(files: Record<string, string>, dirs: Record<string, () => LazyDir> = {}): () => LazyDir {
  return () => ({ files: Object.entries(files), dirs: Object.entries(dirs) });
}

test('a lazy directory reads, lists and exists exactly like the same files added up front', () => {
  const lazy = new MemProcFs().add('/proc/cmdline', 'x\n').mount('/proc/device-tree', lazyTree(
    { model: 'm', '': 'self', dup: 'first' },
    { cpus: lazyTree({ a: '1', dup: 'c' }, { 'cpu@0': lazyTree({ reg: 'r' }) }), dup: lazyTree({ inner: 'i' }) },
  ));
  lazy.add('/proc/device-tree/dup', 'second');
  const eager = new MemProcFs().add('/proc/cmdline', 'x\n');
  for (const [p, v] of [['model', 'm'], ['', 'self'], ['dup', 'first'], ['cpus/a', '1'], ['cpus/dup', 'c'], ['cpus/cpu@0/reg', 'r'], ['dup/inner', 'i'], ['dup', 'second']] as const) {
    eager.add(`/proc/device-tree/${p}`, v);
  }
  assert.equal([...dump(lazy, '/')], [...dump(eager, '/')]);
  for (const p of ['/proc/device-tree/cpus/cpu@0/reg', '/proc/device-tree/nope', '/proc/device-tree/cpus', '//proc//device-tree/']) {
    const fresh = new MemProcFs().mount('/proc/device-tree', lazyTree({}, { cpus: lazyTree({}, { 'cpu@0': lazyTree({ reg: 'r' }) }) }));
    const ref = new MemProcFs().add('/proc/device-tree/cpus/cpu@0/reg', 'r');
    assert.is(fresh.exists(p), ref.exists(p), `exists ${p}`);
  }
});

test('a lazy directory fills in only when touched', () => {
  let built = 0;
  const fs = new MemProcFs().mount('/proc/device-tree', () => {
    built++;
    return { files: [['a', 'x']], dirs: [] };
  });
  fs.add('/proc/cmdline', 'c');
  assert.is(fs.exists('/proc/device-tree'), true);
  assert.is(built, 0);
  assert.equal(fs.list('/proc'), ['cmdline', 'device-tree']);
  assert.is(built, 0);
  assert.equal(fs.read('/proc/device-tree/a'), enc('x'));
  fs.read('/proc/device-tree/a');
  assert.is(built, 1);
});

function bootTree(root: FdtNode) {
  return bootFromParts({ dtb: writeFdt({ bootCpuidPhys: 0, reservations: [], root }), cmdline: '' });
}

const cpu = (n: number): FdtNode => fdtNode(`cpu@${n}`, [prop.str('device_type', 'cpu'), prop.u32('reg', n), prop.str('status', 'okay')]);
const memory = fdtNode('memory@0', [prop.str('device_type', 'memory'), prop.u64('reg', 0n, 0x100000n)]);
const base = (...extra: FdtNode[]): FdtNode =>
  fdtNode('', [prop.u32('#address-cells', 2), prop.u32('#size-cells', 2)], [fdtNode('cpus', [prop.u32('#address-cells', 1)], [cpu(0), cpu(1), cpu(2)]), memory, ...extra]);

test('/proc/device-tree of a booted kernel holds every node and property of the tree', () => {
  const root = base(fdtNode('named', [prop.str('name', 'own-name')]), fdtNode('openhcl', [], [fdtNode('entropy', [prop.bytes('reg', Uint8Array.of(1, 2, 3))])]));
  const k = bootTree(root);
  assert.equal([...dump(k.procfs, '/proc/device-tree')], [...dump(eagerDeviceTree(root), '/proc/device-tree')]);
});

// writeFdt refuses repeated and '/' names, so such trees are made by patching names in the bytes.
function patched(root: FdtNode, from: string, to: string): Uint8Array {
  const dtb = writeFdt({ bootCpuidPhys: 0, reservations: [], root });
  const hex = Buffer.from(dtb).toString('latin1').split(from).join(to);
  return Uint8Array.from(Buffer.from(hex, 'latin1'));
}

test('hand-made trees: repeated node names merge, a later file wins, "/" in a name writes into another node', () => {
  const cases: Array<[string, FdtNode, string, string]> = [
    ['repeated node', base(fdtNode('dupA', [prop.u32('x', 1), prop.u32('y', 2)], [fdtNode('kid', [prop.u32('k', 1)])]), fdtNode('dupB', [prop.u32('x', 3)], [fdtNode('kid', [prop.u32('k', 2)])])), 'dupB', 'dupA'],
    ['slash in node name', base(fdtNode('a', [prop.u32('v', 1)], [fdtNode('b', [prop.u32('w', 1)])]), fdtNode('aQb', [prop.u32('w', 2)])), 'aQb', 'a/b'],
    ['slash in property name', base(fdtNode('a', [prop.u32('v', 1)]), fdtNode('z', [prop.u32('nameQv', 9)])), 'nameQv', 'name/v'],
  ];
  for (const [what, root, from, to] of cases) {
    const dtb = patched(root, from, to);
    const k = bootFromParts({ dtb, cmdline: '' });
    assert.equal([...dump(k.procfs, '/proc/device-tree')], [...dump(eagerDeviceTree(readFdt(dtb).root), '/proc/device-tree')], what);
  }
});

test.run();
