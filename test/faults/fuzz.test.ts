import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MemoryLevel } from 'memory-level';
import { sha256 } from '../../lib/bytes/index.ts';
import { presetConfig } from '../../lib/config/index.ts';
import { HclError } from '../../lib/errors.ts';
import { readFdt, writeFdt, type FdtNode } from '../../lib/fdt/index.ts';
import { hostParamsFor } from '../../lib/host/index.ts';
import { fixChecksum, readIgvm } from '../../lib/igvm/index.ts';
import { parseHostDt } from '../../lib/shim/index.ts';
import { currentGeneration } from '../../lib/state/unit.ts';
import { defaultRegistry } from '../../lib/snapshot/registry.ts';
import { SnapshotStore, parseArchive } from '../../lib/store/index.ts';
import { boot } from '../../harness/pipeline.ts';
import { bootWithWorkload, saveVm } from '../../harness/servicing.ts';
import { SEED, count, rng, tempDir, type Rng } from './helpers.ts';
import { fuzz, type FuzzReport, type FuzzTarget } from './fuzz-harness.ts';

/**
 * Fuzz: the IGVM reader, the FDT reader, the shim's host-DT parse, `.hclsnap` parsing and
 * unit-state decoding (canonical msgpack + schema validation), each with ≥ 10k cases in CI. Only
 * HclError may come out, every case must finish within 1 s, and no case may hold more than
 * 8 × its input size + 1 MiB of new ArrayBuffers (method: fuzz-harness.ts).
 */

const CASES = count(10_000, 200_000);

const small = presetConfig('small');
const numa = presetConfig('numa');
const smallVm = boot(small);
const hostDtbs = [small, numa].map((c) => ({ bytes: hostParamsFor(c).hostDtb, label: `${c.name} host dt` }));

function trailerFix(bytes: Uint8Array): void {
  if (bytes.length < 32) return;
  bytes.set(sha256(bytes.subarray(0, bytes.length - 32)), bytes.length - 32);
}

/** A host DT whose tree was damaged at the property level, then written properly: it reaches parseHostDt. */
function treeMutation(r: Rng): { bytes: Uint8Array; label: string } {
  const seed = r.pick(hostDtbs);
  const fdt = readFdt(seed.bytes);
  const nodes: FdtNode[] = [];
  const walk = (n: FdtNode) => { nodes.push(n); n.children.forEach(walk); };
  walk(fdt.root);
  const node = r.pick(nodes);
  if (node.properties.length > 0) {
    const i = r.int(node.properties.length);
    const p = node.properties[i]!;
    const v = new Uint8Array(p.value);
    const how = r.int(4);
    if (how === 0 && v.length > 0) v[r.int(v.length)]! ^= 1 << r.int(8);
    const value = how === 1 ? v.subarray(0, r.int(v.length + 1)) : how === 2 ? new Uint8Array([...v, ...v.subarray(0, 4)]) : v;
    if (how === 3) node.properties.splice(i, 1);
    else node.properties[i] = { ...p, value };
  } else if (node !== fdt.root) {
    node.children.splice(0, 1);
  }
  return { bytes: writeFdt(fdt), label: `${seed.label} (tree)` };
}

async function archiveAndUnits(): Promise<{ archive: Uint8Array; units: Array<{ bytes: Uint8Array; label: string }> }> {
  const store = await SnapshotStore.open({ db: new MemoryLevel() });
  const vm = bootWithWorkload(small, { seed: 5, steps: 300 });
  const { id } = await saveVm(vm, store);
  const file = join(await tempDir(), 'fuzz.hclsnap');
  await store.exportSnapshot(id, file);
  const snap = await store.getSnapshot(id);
  await store.close();
  const units = [...snap.parts].filter(([n]) => n.startsWith('unit/')).map(([n, b]) => ({ bytes: new Uint8Array(b), label: n.slice(5) }));
  return { archive: new Uint8Array(await readFile(file)), units };
}

const registry = defaultRegistry();

async function targets(): Promise<FuzzTarget[]> {
  const { archive, units } = await archiveAndUnits();
  return [
    { name: 'igvm reader', seeds: [{ bytes: smallVm.igvm, label: 'small package' }], run: (b) => readIgvm(b), fix: (b) => { fixChecksum(b); } },
    {
      name: 'fdt reader',
      seeds: [...hostDtbs, { bytes: smallVm.shim.dtb, label: 'small kernel dt' }],
      run: (b) => readFdt(b),
    },
    { name: 'shim host-dt parse', seeds: hostDtbs, run: (b) => parseHostDt(readFdt(b)), generate: treeMutation },
    { name: '.hclsnap parse', seeds: [{ bytes: archive, label: 'small snapshot' }], run: (b) => parseArchive(b, 'fuzz.hclsnap'), fix: trailerFix },
    {
      name: 'unit-state decode',
      seeds: units,
      run: (b, unit) => registry.validateUnitState(unit, registry.decodeState(unit, currentGeneration(registry.get(unit)).generation, b, `unit ${unit}`)),
    },
  ];
}

const reports: FuzzReport[] = [];
const all = await targets();
all.forEach((t, i) => {
  test(`fuzz ${t.name}: ${CASES} cases, only HclError, bounded time and allocation`, () => {
    const rep = fuzz(t, CASES, rng(SEED + i));
    reports.push(rep);
    assert.equal(rep.findings.slice(0, 5), [], `seed ${SEED + i}: ${rep.findings.length} findings`);
    // The cases must reach past the first check, or the fuzz shows little: several distinct outcomes.
    assert.ok(Object.keys(rep.codes).length >= 3, JSON.stringify(rep.codes));
    process.stderr.write(`fuzz ${t.name}: ${CASES} cases, max ${rep.maxMs.toFixed(1)} ms, max alloc ${rep.maxAllocRatio.toFixed(2)}× input, outcomes ${JSON.stringify(rep.codes)}\n`);
  });
});

test('fuzz catches a decoder that reads past the end or trusts a declared length (planted defects)', () => {
  const seeds = hostDtbs;
  const pastEnd: FuzzTarget = {
    name: 'planted past-end read', seeds,
    run: (b) => { const v = new DataView(b.buffer, b.byteOffset, b.byteLength); return v.getUint32(v.getUint32(4) % (b.length + 8)); },
  };
  const trusting: FuzzTarget = {
    name: 'planted trusting allocation', seeds,
    run: (b) => {
      const declared = b.length >= 8 ? new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(4) : 0;
      const buf = new Uint8Array(Math.min(declared, 256 << 20)); // allocate what the header claims
      throw new HclError('FDT_TRUNCATED', `planted: declared ${buf.length}`);
    },
  };
  const a = fuzz(pastEnd, 300, rng(SEED));
  assert.ok(a.findings.some((f) => f.includes('RangeError')), a.findings.join('\n') || 'nothing found');
  const b = fuzz(trusting, 300, rng(SEED));
  assert.ok(b.findings.some((f) => f.includes('allocated')), b.findings.join('\n') || 'nothing found');
});

test.run();
