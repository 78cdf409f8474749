import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { isHclError } from '../lib/errors.ts';
import {
  encodeNativeContext, encodeVsmContext, fixChecksum, PARAMETER_KINDS, readIgvm, writeIgvm, SEV_VMSA_SIZE, VBS_AARCH64_REGISTERS, VBS_X64_REGISTERS,
  type IgvmFileInput, type IgvmHeader, type IgvmRevision, type ParameterKind,
} from '../lib/igvm/index.ts';
import { canonicalBytes, lawParams, rejectsTruncation } from './laws.ts';

const u32 = fc.nat({ max: 0xffff_ffff });
// A mask of 0 misses every filter, so the crate (and the reader) drop such a header: valid files use others.
const mask = fc.integer({ min: 1, max: 0xffff_ffff });
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const pageGpa = fc.nat({ max: 0xfffff }).map((n) => BigInt(n) * 4096n);
const blob = (n: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: n, maxLength: n });
const data = fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ minLength: 1, maxLength: 48 }), fc.nat({ max: 255 }).map((b) => new Uint8Array(4096).fill(b)));

const revisionArb: fc.Arbitrary<IgvmRevision> = fc.constantFrom<IgvmRevision>({ version: 1 }, { version: 2, arch: 'x64' }, { version: 2, arch: 'aarch64' });
const TYPES = { x64: [0, 1, 2, 3, 4, 5], aarch64: [1, 6] } as const;

/** Platforms valid for the architecture: distinct types, each on its own mask bit. */
const platformsArb = (arch: 'x64' | 'aarch64'): fc.Arbitrary<IgvmHeader[]> =>
  fc.tuple(fc.subarray([...TYPES[arch]], { minLength: 1 }), fc.shuffledSubarray([...Array(32).keys()], { minLength: 6, maxLength: 6 }), fc.array(u64, { minLength: 6, maxLength: 6 }), fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }))
    .map(([types, bits, bounds, vtl2]) => types.map((t, i): IgvmHeader => ({
      kind: 'SUPPORTED_PLATFORM', compatibilityMask: (1 << (bits[i] ?? 0)) >>> 0, highestVtl: vtl2[i] === true ? 2 : 0, platformType: t,
      platformVersion: 1, sharedGpaBoundary: t === 0 || t === 1 ? 0n : (bounds[i] ?? 0n),
    })));

const pageArb: fc.Arbitrary<IgvmHeader> = fc.record({ gpa: pageGpa, compatibilityMask: mask, flags: u32, dataType: fc.nat({ max: 3 }), data })
  .map((r): IgvmHeader => ({ kind: 'PAGE_DATA', ...r }));
const simpleDirective: fc.Arbitrary<IgvmHeader> = fc.oneof(
  pageArb,
  fc.record({ gpa: pageGpa, compatibilityMask: mask, numberOfBytes: fc.nat({ max: 0xfffff }).map((n) => n * 4096), flags: u32 }).map((r): IgvmHeader => ({ kind: 'REQUIRED_MEMORY', ...r })),
  fc.record({ gpa: pageGpa, compatibilityMask: mask, sizeBytes: u32 }).map((r): IgvmHeader => ({ kind: 'ERROR_RANGE', ...r })),
  fc.record({ compatibilityMask: mask, authorKeyEnabled: fc.nat({ max: 255 }), reserved: blob(3), ld: blob(48), familyId: blob(16), imageId: blob(16),
    version: u32, guestSvn: u32, idKeyAlgorithm: u32, authorKeyAlgorithm: u32, idKeySignature: blob(144), idPublicKey: blob(152),
    authorKeySignature: blob(144), authorPublicKey: blob(152) }).map((r): IgvmHeader => ({ kind: 'SNP_ID_BLOCK', ...r })),
  fc.record({ compatibilityMask: mask, version: u32, productId: u32, moduleId: u32, securityVersion: u32, policyFlags: u32, bootDigestAlgo: u32,
    signingAlgo: u32, bootMeasurementDigest: blob(64), signature: blob(256), publicKey: blob(512) }).map((r): IgvmHeader => ({ kind: 'VBS_MEASUREMENT', ...r })),
);

/** A parameter area, some parameters written into it, and maybe its insert. */
const parameterGroup = (index: number): fc.Arbitrary<IgvmHeader[]> => fc.record({
  pages: fc.integer({ min: 1, max: 2 }), initial: fc.uint8Array({ maxLength: 32 }),
  uses: fc.array(fc.record({ kind: fc.constantFrom(...(Object.keys(PARAMETER_KINDS) as ParameterKind[])), byteOffset: u32 }), { maxLength: 3 }),
  insert: fc.option(fc.record({ gpa: pageGpa, compatibilityMask: mask }), { nil: undefined }),
}).map(({ pages, initial, uses, insert }) => [
  { kind: 'PARAMETER_AREA', numberOfBytes: BigInt(pages * 4096), parameterAreaIndex: index, initialData: initial },
  ...uses.map((u): IgvmHeader => ({ ...u, parameterAreaIndex: index })),
  ...(insert === undefined ? [] : [{ kind: 'PARAMETER_INSERT', ...insert, parameterAreaIndex: index } as IgvmHeader]),
]);

/** A VP context for a platform that takes one (VSM, SNP, SEV-ES, NATIVE, SEV). */
function contextFor(p: IgvmHeader, seed: number, arch: 'x64' | 'aarch64'): IgvmHeader[] {
  if (p.kind !== 'SUPPORTED_PLATFORM') return [];
  const names = [...(arch === 'x64' ? VBS_X64_REGISTERS : VBS_AARCH64_REGISTERS).keys()];
  const base = { kind: 'VP_CONTEXT', compatibilityMask: p.compatibilityMask, gpa: 0n, vpIndex: 0, reserved: 0 } as const;
  switch (p.platformType) {
    case 1: return [{ ...base, data: encodeVsmContext([...Array(1 + (seed % 3)).keys()].map((i) => ({ vtl: seed % 3, name: names[(seed + i) % names.length]!, value: new Uint8Array(16).fill(seed & 0xff) }))) }];
    // igvm 0.4.0: the VMSA is 1648 bytes and the rest of its page zero.
    case 2: case 5: return [{ ...base, gpa: BigInt(seed) * 4096n, data: new Uint8Array(4096).fill(seed & 0xff, 0, SEV_VMSA_SIZE) }];
    case 0: case 4: return [{ ...base, vpIndex: seed & 0xff, data: encodeNativeContext({ rip: BigInt(seed), cr0: 0x11n }) }];
    default: return [];
  }
}

/** Valid IGVM files: platforms for the architecture, maybe a policy, directives in a valid order. */
export const igvmFileArb: fc.Arbitrary<IgvmFileInput> = revisionArb.chain((revision) => {
  const arch = revision.version === 1 ? 'x64' : revision.arch;
  return fc.record({
    platforms: platformsArb(arch),
    policy: fc.option(fc.record({ policy: u64, compatibilityMask: mask }), { nil: undefined }),
    cca: fc.tuple(u64, fc.nat({ max: 2 }), fc.nat({ max: 255 })),
    groups: fc.array(fc.nat(), { maxLength: 3 }).chain((ids) => fc.tuple(...[...new Set(ids)].map(parameterGroup))),
    directives: fc.array(simpleDirective, { maxLength: 6 }),
    contextSeeds: fc.array(fc.nat({ max: 0xffff }), { minLength: 6, maxLength: 6 }),
    lastPage: pageArb.filter((p) => p.kind === 'PAGE_DATA' && p.data.length > 0),
  }).map(({ platforms, policy, cca, groups, directives, contextSeeds, lastPage }) => {
    const ccaMask = platforms.find((p) => p.kind === 'SUPPORTED_PLATFORM' && p.platformType === 6);
    const headers: IgvmHeader[] = [
      ...platforms,
      ...(policy === undefined ? [] : [{ kind: 'GUEST_POLICY', ...policy } as IgvmHeader]),
      ...(ccaMask?.kind === 'SUPPORTED_PLATFORM' ? [{ kind: 'CCA_POLICY', compatibilityMask: ccaMask.compatibilityMask, requiredZeroes: cca[0] & ~1n,
        requiredOnes: cca[0] & 1n, hashAlgorithm: cca[1], lfaPolicy: cca[2] } as IgvmHeader] : []),
      ...groups.flat(), ...directives,
      ...platforms.flatMap((p, i) => contextFor(p, contextSeeds[i] ?? 0, arch)),
      lastPage,
    ];
    return { revision, headers };
  });
});

const RUNS = lawParams().numRuns ?? 25;

test('igvm: encode → decode → encode is identity', () => {
  fc.assert(fc.property(igvmFileArb, (f) => {
    const b = writeIgvm(f);
    const back = readIgvm(b);
    assert.is(back.headers.length, f.headers.length);
    assert.ok(Buffer.from(writeIgvm(back)).equals(Buffer.from(b)));
  }), { ...lawParams(), numRuns: Math.max(RUNS, 100) });
});

canonicalBytes('igvm', igvmFileArb, (f) => writeIgvm(f));
rejectsTruncation('igvm', igvmFileArb, (f) => writeIgvm(f), readIgvm, 32);

const mutation = fc.record({ at: fc.nat(), value: fc.nat({ max: 255 }) });

test('igvm: byte mutations of valid files parse or fail with an HclError, nothing else', () => {
  fc.assert(fc.property(igvmFileArb, fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), (f, muts, fix) => {
    const b = writeIgvm(f);
    // Mutations land in the headers most of the time: that is where the parsing logic lives.
    const vEnd = new DataView(b.buffer).getUint32(8, true) + new DataView(b.buffer).getUint32(12, true);
    for (const m of muts) b[m.at % (m.at % 4 === 0 ? b.length : vEnd)] = m.value;
    if (fix && b.length >= 32) fixChecksum(b);
    try {
      readIgvm(b);
    } catch (e) {
      assert.ok(isHclError(e), `threw ${String(e)}`);
    }
  }), { ...lawParams(), numRuns: Math.max(RUNS, 300) });
});

test.run();
