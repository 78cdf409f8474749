import fc from 'fast-check';
import { test } from 'uvu';
import { ByteReader, ByteWriter } from '../lib/bytes/index.ts';
import { readFdt, writeFdt } from '../lib/fdt/index.ts';
import { decodeCanonical, encodeCanonical } from '../lib/state/codec.ts';
import { arbCanonicalValue, arbFdt } from './arbitraries.ts';
import { canonicalBytes, rejectsTruncation, restoreOfSaveIsIdentity, roundTrip, type UnitCase } from './laws.ts';
import { runWorkload } from '../harness/workload.ts';
import { createUnits, type HclUnits } from '../lib/hcl/units/index.ts';
import { HvPartition } from '../lib/hv/index.ts';
import { testContext } from '../test/hcl/units/fixture.ts';
import { codecMutation } from './props/codecs.ts';
import { defaultRegistry } from '../lib/snapshot/registry.ts';
import { currentGeneration } from '../lib/state/unit.ts';
import { propertyTests } from './testing.ts';

// lib/fdt: the DTB codec.
const arbFdtTree = arbFdt();
roundTrip('fdt', arbFdtTree, writeFdt, (b) => readFdt(b));
canonicalBytes('fdt', arbFdtTree, writeFdt);
rejectsTruncation('fdt', arbFdtTree, writeFdt, (b) => readFdt(b));

// lib/bytes: a self-describing record of typed fields written with ByteWriter, read with ByteReader.
type Field = { kind: 'u8' | 'u16' | 'u32'; v: number } | { kind: 'u64'; v: bigint } | { kind: 'bytes'; v: Uint8Array };
const KINDS = ['u8', 'u16', 'u32', 'u64', 'bytes'] as const;
const arbField: fc.Arbitrary<Field> = fc.oneof(
  fc.nat(0xff).map((v) => ({ kind: 'u8' as const, v })),
  fc.nat(0xffff).map((v) => ({ kind: 'u16' as const, v })),
  fc.nat(0xffff_ffff).map((v) => ({ kind: 'u32' as const, v })),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((v) => ({ kind: 'u64' as const, v })),
  fc.uint8Array({ maxLength: 40 }).map((v) => ({ kind: 'bytes' as const, v })),
);
const encodeFields = (fs: Field[]): Uint8Array => {
  const w = new ByteWriter(8).u32(fs.length);
  for (const f of fs) {
    w.u8(KINDS.indexOf(f.kind));
    if (f.kind === 'bytes') w.u32(f.v.length).bytes(f.v);
    else if (f.kind === 'u64') w.u64(f.v);
    else w[f.kind](f.v);
  }
  return w.finish();
};
const decodeFields = (b: Uint8Array): Field[] => {
  const r = new ByteReader(b, 'field record');
  const n = r.u32();
  return Array.from({ length: n }, (): Field => {
    const kind = KINDS[r.u8()];
    if (kind === 'bytes') return { kind, v: r.bytes(r.u32()).slice() };
    if (kind === 'u64') return { kind, v: r.u64() };
    if (kind === undefined) throw new TypeError('unknown kind');
    return { kind, v: r[kind]() };
  });
};
const arbFields = fc.array(arbField, { minLength: 1, maxLength: 12 });
roundTrip('bytes', arbFields, encodeFields, decodeFields);
canonicalBytes('bytes', arbFields, encodeFields);
rejectsTruncation('bytes', arbFields, encodeFields, decodeFields);

// lib/state/codec: canonical msgpack.
const arbCanon = arbCanonicalValue();
const decodeCanon = (b: Uint8Array): unknown => decodeCanonical(b, 'law');
roundTrip('canonical msgpack', arbCanon, encodeCanonical, decodeCanon);
canonicalBytes('canonical msgpack', arbCanon, encodeCanonical);
rejectsTruncation('canonical msgpack', arbCanon, encodeCanonical, decodeCanon);

// lib/igvm's laws run on an IGVM file arbitrary in igvm.test.ts; the stage contracts and the
// archive in codec-laws.test.ts.

// The state-unit law on the six real openvmm_hcl units: the ops are workloads over a whole
// partition, the unit under test is one of them.
const unitNames = createUnits(testContext()).all.map((u) => u.name);
const registry = defaultRegistry();
for (const name of unitNames) {
  type Unit = { save(): unknown; restore(state: unknown): void };
  const partitions = new WeakMap<Unit, { units: HclUnits; hv: HvPartition }>();
  const make = (): Unit => {
    const ctx = testContext();
    const units = createUnits(ctx);
    const unit = units.all.find((u) => u.name === name) as unknown as Unit;
    partitions.set(unit, { units, hv: new HvPartition(ctx.topology) });
    return unit;
  };
  const arbCase: fc.Arbitrary<UnitCase<unknown, { seed: number; steps: number }>> = fc
    .array(fc.record({ seed: fc.nat(0xffff_ffff), steps: fc.nat(200) }), { maxLength: 3 })
    .map((ops) => ({ make, ops, apply: (u, op) => { const p = partitions.get(u as Unit); if (p !== undefined) runWorkload(p.units, p.hv, op); } }));
  restoreOfSaveIsIdentity(`unit ${name}`, arbCase, (s) => encodeCanonical(s));
  // The unit's bytes as a save writes them (generation 3, field-numbered), on states workloads reach.
  const generation = currentGeneration(registry.get(name)).generation;
  const arbState = arbCase.map((c) => { const u = c.make(); for (const op of c.ops) c.apply(u, op); return u.save(); });
  const encode = (v: unknown) => registry.encodeState(name, generation, v);
  const decode = (b: Uint8Array) => registry.decodeState(name, generation, b, `unit ${name}`);
  roundTrip(`unit ${name} field-numbered`, arbState, encode, decode);
  canonicalBytes(`unit ${name} field-numbered`, arbState, encode);
  rejectsTruncation(`unit ${name} field-numbered`, arbState, encode, decode);
}

// codec-mutation: decoders on mutated bytes return a value or an HclError.
propertyTests(codecMutation, 1);

test.run();
