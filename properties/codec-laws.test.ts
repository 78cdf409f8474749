import fc from 'fast-check';
import { test } from 'uvu';
import { sha256Hex } from '../lib/bytes/index.ts';
import { cpioFiles, readCpio, writeCpio } from '../lib/abi/index.ts';
import { GuestMemory } from '../lib/memory/index.ts';
import { readHandoff, writeHandoff, type KernelHandoff } from '../lib/abi/index.ts';
import { DEFAULT_VTL2_BASE, decodeCommandLinePage, decodeShimParams, defaultLayout, encodeCommandLinePage, encodeShimParams, type ParavisorCommandLine } from '../lib/abi/index.ts';
import {
  PERSISTED_REGION_SIZE, decodePersistedPayload, encodePersistedPayload, persistedPlacement, readPersistedState, writePersistedState, type PersistedPayload,
} from '../lib/abi/index.ts';
import { SIDECAR_MAX_NODES, SIDECAR_PER_CPU_STATE_CPUS, decodeSidecarParams, encodeSidecarParams, type SidecarParams } from '../lib/abi/index.ts';
import { encodeArchive, parseArchive } from '../lib/store/archive.ts';
import { encodeManifest } from '../lib/store/manifest.ts';
import type { ManifestBody } from '../lib/store/types.ts';
import { canonicalBytes, rejectsTruncation, roundTrip } from './laws.ts';

// Plain objects (fc.record's default null prototype is not what a decoder returns).
const record = <T extends object>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> => fc.record(model, { noNullPrototype: true }) as fc.Arbitrary<T>;

/**
 * The law suite on the byte contracts between stages and on the snapshot archive: shim
 * parameters, the static command line page, the kernel handoff record, the shim's persisted
 * state, sidecar parameters, cpio and `.hclsnap`.
 */

const u32 = fc.nat({ max: 0xffff_ffff });
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

// Shim parameters: every layout defaultLayout places is a valid parameter block (decode checks
// that regions are page-aligned and inside VTL2 memory, so random fields would only test refusal).
const arbShimParams = record({
  arch: fc.constantFrom('x86_64' as const, 'aarch64' as const),
  isolation: fc.constantFrom('none' as const, 'vbs' as const, 'snp' as const, 'tdx' as const),
  kernelSize: fc.integer({ min: 0x1000, max: 0x80_0000 }),
  kernelEntryOffset: fc.nat({ max: 0xffff }),
  initrdSize: fc.integer({ min: 0x1000, max: 0x40_0000 }),
  initrdCrc: u32,
  sidecarSize: fc.nat({ max: 0x10_0000 }),
  bounceBufferSize: fc.nat({ max: 0x10_0000 }),
  reservedSize: fc.integer({ min: 0x1000, max: 0x10_0000 }),
  persistedSize: fc.integer({ min: 0x2000, max: 0x10_0000 }),
}).map((o) => defaultLayout(DEFAULT_VTL2_BASE, 0x1000_0000n, o).params);
roundTrip('shim parameters', arbShimParams, encodeShimParams, decodeShimParams);
rejectsTruncation('shim parameters', arbShimParams, encodeShimParams, decodeShimParams);

const arbCommandLine: fc.Arbitrary<ParavisorCommandLine> = record({
  policy: fc.constantFrom('append-chosen' as const, 'static' as const),
  line: fc.stringMatching(/^[ -~]{0,200}$/),
});
roundTrip('command line page', arbCommandLine, encodeCommandLinePage, decodeCommandLinePage);

// The handoff record lives in guest memory at a fixed size, so a short record cannot occur:
// the law here is the round trip through memory.
const arbHandoff: fc.Arbitrary<KernelHandoff> = record({
  dtbGpa: u64, dtbSize: fc.nat({ max: 0x1000_0000 }), cmdlineGpa: u64, cmdlineSize: fc.nat({ max: 0x1000_0000 }),
  initrdGpa: u64, initrdSize: fc.nat({ max: 0x1000_0000 }), sidecarParamsGpa: u64,
});
const HANDOFF_GPA = 0x20_0000n;
roundTrip('kernel handoff', arbHandoff, (h) => {
  const m = new GuestMemory();
  writeHandoff(m, HANDOFF_GPA, h);
  return m.read(HANDOFF_GPA, 64);
}, (b) => {
  const m = new GuestMemory();
  m.write(HANDOFF_GPA, b);
  return readHandoff(m, HANDOFF_GPA);
});

// MemoryRange is {start, end} on the wire, so a range must end within u64; the VTL types are
// MemoryVtlType's values, the igvm type a u16.
const arbRange = u64.chain((base) => fc.bigInt({ min: 0n, max: (1n << 64n) - 1n - base }).map((size) => ({ base, size })));
const vtlType = fc.nat({ max: 12 });
const arbPersisted: fc.Arbitrary<PersistedPayload> = record({
  partitionMemory: fc.array(fc.tuple(arbRange, u32, vtlType, fc.nat({ max: 0xffff })).map(([r, vnode, vtl, igvmType]) => ({ ...r, vnode, vtlType: vtl, igvmType })), { maxLength: 8 }),
  partitionMmio: fc.array(fc.tuple(arbRange, vtlType).map(([r, vtl]) => ({ ...r, vtlType: vtl })), { maxLength: 4 }),
  cpusWithMappedInterruptsNoIo: fc.array(u32, { maxLength: 6 }),
  cpusWithOutstandingIo: fc.array(u32, { maxLength: 6 }),
});
roundTrip('persisted state', arbPersisted, encodePersistedPayload, decodePersistedPayload);
canonicalBytes('persisted state', arbPersisted, encodePersistedPayload);
// A protobuf message cut at a field boundary is a valid shorter message, so truncation is not the
// payload's to detect: the header's payload length is. The law here is the round trip through
// the header and payload in guest memory.
const PERSISTED = { gpa: 0x80_0000n, size: BigInt(PERSISTED_REGION_SIZE) };
roundTrip('persisted state in guest memory', arbPersisted, (p) => {
  const m = new GuestMemory();
  writePersistedState(m, persistedPlacement(PERSISTED)!, p);
  return m.read(PERSISTED.gpa, Number(PERSISTED.size));
}, (b) => {
  const m = new GuestMemory();
  m.write(PERSISTED.gpa, b);
  const read = readPersistedState(m, PERSISTED);
  if (read === undefined) throw new Error('persisted state: no OHCLPHDR header after writing one');
  return read.payload;
});

const arbSidecarParams: fc.Arbitrary<SidecarParams> = record({
  hypercallPage: u64,
  enableLogging: fc.boolean(),
  nodes: fc.array(record({ memoryBase: u64, memorySize: u64, baseVp: u32, vpCount: u32 }), { maxLength: SIDECAR_MAX_NODES }),
  initialState: record({ specified: fc.boolean(), startsCpu: fc.array(fc.boolean(), { minLength: SIDECAR_PER_CPU_STATE_CPUS, maxLength: SIDECAR_PER_CPU_STATE_CPUS }) }),
});
// The record fills the start of a page; the rest of the page is padding that decode never reads,
// so truncation is probed on the record itself (header, node table, PerCpuState).
const SIDECAR_RECORD = 16 + SIDECAR_MAX_NODES * 24 + 1 + SIDECAR_PER_CPU_STATE_CPUS;
const encodeSidecarRecord = (p: SidecarParams): Uint8Array => encodeSidecarParams(p).subarray(0, SIDECAR_RECORD);
roundTrip('sidecar parameters', arbSidecarParams, encodeSidecarParams, decodeSidecarParams);
rejectsTruncation('sidecar parameters', arbSidecarParams, encodeSidecarRecord, decodeSidecarParams);

// cpio: regular files by path, no path a directory of another.
const arbFiles = fc.uniqueArray(fc.array(fc.stringMatching(/^[a-z0-9_]{1,6}$/), { minLength: 1, maxLength: 3 }).map((s) => s.join('/')), { minLength: 1, maxLength: 6 })
  .filter((paths) => paths.every((p) => !paths.some((q) => q.startsWith(`${p}/`))))
  .chain((paths) => fc.tuple(...paths.map((p) => fc.uint8Array({ maxLength: 64 }).map((b) => [p, b] as const))))
  .map((entries) => new Map(entries.map(([p, b]) => [p, b])));
const decodeCpioFiles = (b: Uint8Array): Map<string, Uint8Array> => cpioFiles(readCpio(b));
roundTrip('cpio', arbFiles, writeCpio, decodeCpioFiles);
canonicalBytes('cpio', arbFiles, writeCpio);
// An empty initramfs is a valid one (Linux init/initramfs.c unpacks nothing), so cuts start at one byte.
rejectsTruncation('cpio', arbFiles, writeCpio, decodeCpioFiles, 64, 1);

// .hclsnap: a manifest and its parts, as `store export` writes them.
interface ArchiveCase { body: ManifestBody; parts: Map<string, Uint8Array> }
const arbArchive: fc.Arbitrary<ArchiveCase> = fc.uniqueArray(record({ name: fc.stringMatching(/^[a-z][a-z0-9/]{0,11}$/), bytes: fc.uint8Array({ maxLength: 300 }) }), { selector: (p) => p.name, minLength: 1, maxLength: 4 })
  .chain((parts) => record({ seq: fc.integer({ min: 1, max: 1000 }), parent: fc.option(fc.stringMatching(/^[0-9a-f]{64}$/), { nil: null }) }).map(({ seq, parent }) => ({
    body: {
      format: 2, name: 'law', seq, parent, time: '2026-01-01T00:00:00.000Z', tool: '0.1.0', info: {},
      parts: parts.map((p) => ({ name: p.name, sha256: sha256Hex(p.bytes), size: p.bytes.length, meta: {} })),
    },
    parts: new Map(parts.map((p) => [p.name, p.bytes])),
  })));
const encodeArchiveCase = (c: ArchiveCase): Uint8Array => {
  const { id, bytes } = encodeManifest(c.body);
  return encodeArchive({ ...c.body, id }, bytes, c.parts);
};
const decodeArchiveCase = (b: Uint8Array): ArchiveCase => {
  const { manifest: { id: _id, ...body }, parts } = parseArchive(b, 'law.hclsnap');
  return { body, parts };
};
roundTrip('archive', arbArchive, encodeArchiveCase, decodeArchiveCase);
rejectsTruncation('archive', arbArchive, encodeArchiveCase, decodeArchiveCase);

test.run();
