// Shared fixture for the real-kernel tests: the hand-written 2-node DTS compiled with dtc, the
// serial log captured from booting it, and a hand-built model ProcFs that says what Linux should.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readFdt } from '../../lib/fdt/index.ts';
import type { FdtNode } from '../../lib/fdt/types.ts';
import { procfsNotFound, type ProcFs } from '../../lib/abi/procfs.ts';

const here = (f: string): string => fileURLToPath(new URL(`fixtures/${f}`, import.meta.url));

/** Path of the hand-written DTS. */
export const FIXTURE_DTS = here('virt-2node-8cpu.dts');

/** The fixture DTB, compiled by dtc from the DTS. */
export function fixtureDtb(): Uint8Array {
  return new Uint8Array(execFileSync('dtc', ['-q', '-I', 'dts', '-O', 'dtb', FIXTURE_DTS]));
}

/** The serial log of a real boot of the fixture DTB (qemu 7.2, Debian 6.1 cloud arm64 kernel). */
export function fixtureLog(): string {
  return readFileSync(here('virt-2node-8cpu.log'), 'latin1');
}

/** The machine the DTS describes, as the model would derive it. */
export const FIXTURE_SHAPE = {
  cpus: 8,
  gicVersion: 3 as const,
  nodes: [
    { cpus: [0, 1, 2, 3], memBytes: 256 * 2 ** 20 },
    { cpus: [4, 5, 6, 7], memBytes: 256 * 2 ** 20 },
  ],
};

/** An in-memory ProcFs over a path → bytes map; directories are implied by the paths. */
export function mapProcFs(files: Map<string, Uint8Array>): ProcFs {
  const dirs = new Map<string, Set<string>>();
  for (const p of files.keys()) {
    const parts = p.split('/').slice(1);
    for (let i = 0; i < parts.length; i++) {
      const dir = `/${parts.slice(0, i).join('/')}`;
      (dirs.get(dir) ?? dirs.set(dir, new Set()).get(dir))?.add(parts[i] as string);
    }
  }
  return {
    read: (p) => files.get(p) ?? (() => { throw procfsNotFound(p); })(),
    list: (p) => [...(dirs.get(p) ?? (() => { throw procfsNotFound(p); })())].sort(),
    exists: (p) => files.has(p) || dirs.has(p),
  };
}

function addTree(files: Map<string, Uint8Array>, dir: string, node: FdtNode): void {
  for (const p of node.properties) files.set(`${dir}/${p.name}`, p.value);
  // Linux gives every node a "name" file: the node name without its unit address.
  if (!node.properties.some((p) => p.name === 'name')) files.set(`${dir}/name`, new TextEncoder().encode(`${node.name.split('@')[0]}\0`));
  for (const c of node.children) addTree(files, `${dir}/${c.name}`, c);
}

/** What the model should report for the fixture: the text files by hand, the tree from the DTB. */
export function handModel(dtb: Uint8Array, overrides: Record<string, string | Uint8Array> = {}): ProcFs {
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
  const files = new Map<string, Uint8Array>();
  const text: Record<string, string> = {
    '/proc/cmdline': 'console=ttyAMA0 panic=-1 hclckpt.test=1\n',
    '/sys/devices/system/cpu/possible': '0-7\n',
    '/sys/devices/system/cpu/present': '0-7\n',
    '/sys/devices/system/cpu/online': '0-7\n',
    '/sys/devices/system/node/possible': '0-1\n',
    '/sys/devices/system/node/online': '0-1\n',
  };
  FIXTURE_SHAPE.nodes.forEach((n, id) => {
    const base = `/sys/devices/system/node/node${id}`;
    text[`${base}/cpulist`] = `${n.cpus[0]}-${n.cpus[n.cpus.length - 1]}\n`;
    text[`${base}/distance`] = id === 0 ? '10 20\n' : '20 10\n';
    text[`${base}/meminfo`] = `Node ${id} MemTotal:       ${n.memBytes / 1024} kB\n`;
  });
  for (const [p, t] of Object.entries(text)) files.set(p, enc(t));
  addTree(files, '/proc/device-tree', readFdt(dtb).root);
  files.set('/sys/firmware/fdt', dtb);
  for (const [p, v] of Object.entries(overrides)) files.set(p, typeof v === 'string' ? enc(v) : v);
  return mapProcFs(files);
}
