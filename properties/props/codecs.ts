import fc from 'fast-check';
import { presetConfig } from '../../lib/config/index.ts';
import { isHclError } from '../../lib/errors.ts';
import type { Plant } from '../../lib/plant.ts';
import { readFdt, writeFdt } from '../../lib/fdt/index.ts';
import { buildInitrd, hostDtb } from '../../lib/host/index.ts';
import { readIgvm } from '../../lib/igvm/index.ts';
import { nvmeInterruptState, persistedInfo } from '../../lib/hcl/index.ts';
import {
  readCpio, decodeCommandLinePage, decodeShimParams, encodeCommandLinePage, encodeShimParams,
  SHIM_PARAMS_OFFSET, SHIM_PARAMS_SIZE, decodePersistedPayload, encodePersistedPayload, decodeSlit,
  encodeSlit, decodeSidecarParams, encodeSidecarParams,
} from '../../lib/abi/index.ts';
import { currentGeneration, decodeCanonical, encodeCanonical } from '../../lib/state/index.ts';
import { defaultRegistry } from '../../lib/snapshot/index.ts';
import { boot } from '../../harness/pipeline.ts';
import { arbCanonicalValue, arbFdt } from '../arbitraries.ts';
import { define } from '../define.ts';

/** A decoder input: which codec, its bytes. */
interface Sample { codec: string; bytes: Uint8Array }

const registry = defaultRegistry();

/** Every decoder by codec; `plant` reaches the FDT reader's byte readers (reader-skips-bounds). */
const decoders = (plant: Plant | undefined): Record<string, (b: Uint8Array) => unknown> => ({
  fdt: (b) => readFdt(b, { plant }),
  msgpack: (b) => decodeCanonical(b, 'mutation'),
  igvm: (b) => readIgvm(b),
  cpio: (b) => readCpio(b),
  persisted: (b) => decodePersistedPayload(b),
  'shim-params': (b) => decodeShimParams(b),
  'cmdline-page': (b) => decodeCommandLinePage(b),
  slit: (b) => decodeSlit(b),
  'sidecar-params': (b) => decodeSidecarParams(b),
  // Each unit's field-numbered bytes, decoded and validated as a restore does.
  ...Object.fromEntries(registry.names().map((n) => [`unit:${n}`, (b: Uint8Array) => {
    registry.validateUnitState(n, registry.decodeState(n, currentGeneration(registry.get(n)).generation, b, `unit ${n}`));
  }])),
});

let corpus: Sample[] | undefined;
/** Real encodings from two booted presets (one with sidecar), built once per process. */
function realSamples(): Sample[] {
  if (corpus !== undefined) return corpus;
  const out: Sample[] = [];
  for (const name of ['small', 'large']) {
    const config = presetConfig(name);
    const vm = boot(config);
    const params = decodeShimParams(vm.loaded.memory.read(vm.loaded.shimBase + BigInt(SHIM_PARAMS_OFFSET), SHIM_PARAMS_SIZE));
    out.push(
      { codec: 'fdt', bytes: vm.shim.dtb },
      { codec: 'fdt', bytes: hostDtb(config) },
      { codec: 'persisted', bytes: encodePersistedPayload(persistedInfo(vm.discovered.partitionMemoryMap, nvmeInterruptState(undefined))) },
      { codec: 'shim-params', bytes: encodeShimParams(params) },
      { codec: 'cmdline-page', bytes: encodeCommandLinePage({ policy: config.cmdline.policy, line: config.cmdline.static }) },
    );
    if (config.distances !== undefined) out.push({ codec: 'slit', bytes: encodeSlit(config.distances) });
    if (vm.shim.sidecar !== undefined) out.push({ codec: 'sidecar-params', bytes: encodeSidecarParams(vm.shim.sidecar.params) });
    for (const u of vm.units.all) out.push({ codec: `unit:${u.name}`, bytes: registry.encodeState(u.name, u.generation, u.save()) });
  }
  out.push({ codec: 'cpio', bytes: buildInitrd('1.2.3') }, { codec: 'igvm', bytes: boot(presetConfig('small')).igvm });
  return (corpus = out);
}

/** One byte-level mutation; positions wrap around the input length. */
interface Mutation { op: 'set' | 'truncate' | 'insert' | 'delete'; at: number; value: number }

const arbMutation: fc.Arbitrary<Mutation> = fc.record({ op: fc.constantFrom('set', 'truncate', 'insert', 'delete'), at: fc.nat(), value: fc.nat(255) });

/** Applies mutations in order to a copy of `bytes`. */
export function mutate(bytes: Uint8Array, ms: Mutation[]): Uint8Array {
  let b = bytes.slice();
  for (const m of ms) {
    const at = m.at % (b.length + 1);
    if (m.op === 'truncate') b = b.slice(0, at);
    else if (m.op === 'insert') b = Uint8Array.from([...b.subarray(0, at), m.value, ...b.subarray(at)]);
    else if (m.op === 'delete' && at < b.length) b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + 1)]);
    else if (m.op === 'set' && at < b.length) b[at] = m.value;
  }
  return b;
}

const arbSample = (): fc.Arbitrary<Sample> =>
  fc.oneof(
    fc.constantFrom(...realSamples()),
    arbFdt().map((f) => ({ codec: 'fdt', bytes: writeFdt(f) })),
    arbCanonicalValue().map((v) => ({ codec: 'msgpack', bytes: encodeCanonical(v) })),
  );

/** codec-mutation: decoders on mutated bytes return a value or an HclError, never another exception. */
export const codecMutation = define({
  name: 'codec-mutation',
  description: 'decoders given mutated bytes return a value or throw an HclError, nothing else',
  defaultRuns: 300,
  seam: 'reader-skips-bounds',
  size: (ce) => (ce[1] as Mutation[]).length,
  build: ({ plant }) => fc.property(arbSample(), fc.array(arbMutation, { minLength: 1, maxLength: 4 }), (sample, ms) => {
    const decode = decoders(plant)[sample.codec];
    if (decode === undefined) throw new TypeError(`no decoder ${sample.codec}`);
    try {
      decode(mutate(sample.bytes, ms));
    } catch (e) {
      if (!isHclError(e)) throw new Error(`${sample.codec}: a mutated input threw ${String(e)}, not an HclError`);
    }
  }),
});
