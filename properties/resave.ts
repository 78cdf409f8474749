import { decodePersistedPayload, isVtl2RamType } from '../lib/abi/index.ts';
import { mergedVtl2Ram } from '../lib/shim/index.ts';
import { InitStateSchema, currentGeneration, decodeFields, encodeCanonical } from '../lib/state/index.ts';
import { PARTITION_UNIT, VP_OFFSET, type PartitionState } from '../lib/hcl/index.ts';
import { defaultRegistry, encodeParts } from '../lib/snapshot/index.ts';
import type { SnapshotStore } from '../lib/store/index.ts';
import type { Vm } from '../harness/pipeline.ts';
import { captureVm } from '../harness/servicing.ts';

/**
 * An oracle for restore that does not use the restore proof: the restored VM is saved again and
 * each part's canonical bytes are compared with the snapshot's own part bytes. Only what the new
 * boot decides may differ: each VP's role (the sidecar split of this boot), how the persisted map
 * splits VTL2 RAM into typed pieces (sidecar nodes), the clock reading the init state takes at
 * save (`vmStopReferenceTime`), and the IGVM when the restore serviced to another one.
 */

/** Canonical bytes of a part with what this boot or this save decides removed. */
function comparable(name: string, bytes: Uint8Array): Uint8Array {
  // Both sides are this release's saves: units and init state are field-numbered.
  if (name === 'unit/partition') {
    const s = defaultRegistry().decodeState('partition', PARTITION_GENERATION, bytes, 'resave: unit/partition') as PartitionState;
    // Each VP's role byte (vp-layout.ts) is this boot's; the rest of its bytes must not change.
    return encodeCanonical({ ...s, vps: s.vps.map((v) => ({ ...v, data: v.data.map((b, i) => (i === VP_OFFSET.role ? 0 : b)) })) });
  }
  if (name === 'init') {
    const { vmStopReferenceTime: _t, ...rest } = decodeFields(InitStateSchema, bytes, 'resave: init') as Record<string, unknown>;
    return encodeCanonical(rest);
  }
  if (name === 'persisted') {
    // The map's VTL2 pieces (sidecar node ranges) follow this boot's split; the RAM they cover,
    // VTL0 RAM, MMIO and the interrupt lists must not change.
    const p = decodePersistedPayload(bytes);
    return encodeCanonical({
      vtl2: mergedVtl2Ram(p), rest: p.partitionMemory.filter((m) => !isVtl2RamType(m.vtlType)), mmio: p.partitionMmio,
      mapped: p.cpusWithMappedInterruptsNoIo, outstanding: p.cpusWithOutstandingIo,
    });
  }
  return bytes;
}

const PARTITION_GENERATION = currentGeneration(PARTITION_UNIT).generation;

// Byte equality in one native call: a callback per byte of a 100 KiB IGVM was 4 % of a run.
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);

/** Parts of snapshot `id` whose bytes the restored `vm` does not save again; empty when it re-saves the same state. */
export async function resaveMismatches(store: SnapshotStore, id: string, vm: Vm, opts: { serviced?: boolean } = {}): Promise<string[]> {
  const snap = await store.getSnapshot(id);
  const init = decodeFields(InitStateSchema, snap.parts.get('init') ?? new Uint8Array(), 'resave: init') as { correlationId: string };
  const saved = captureVm(vm, { timeoutMs: 60_000, correlationId: init.correlationId });
  vm.servicing.resume();
  const again = new Map(encodeParts(saved.state, saved.unitMeta, saved.hv, saved.persisted, vm.igvm, saved.vtl0).map((p) => [p.name, p.bytes]));
  const out: string[] = [];
  for (const name of new Set([...snap.parts.keys(), ...again.keys()])) {
    const [a, b] = [snap.parts.get(name), again.get(name)];
    if (a === undefined || b === undefined) out.push(`${name}: ${a === undefined ? 'not in the snapshot' : 'not saved again'}`);
    else if (name === 'igvm' && opts.serviced === true) continue;
    else if (!same(comparable(name, a), comparable(name, b))) out.push(`${name}: re-saved bytes differ`);
  }
  return out;
}
