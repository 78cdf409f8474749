import type { VmConfig } from '../config/index.ts';
import type { Override } from '../config/index.ts';
import { HclError } from '../errors.ts';
import { HV_DESCRIPTOR, hvGenerationOf } from '../hv/index.ts';
import { PERSISTED_PART_FORMAT, encodePersistedPayload, type PersistedPayload } from '../abi/index.ts';
import {
  FIELDS_GENERATION, INIT_TYPE, InitStateSchema, downgradeInit, encodeCanonical, encodeFields, typeUrl,
  type InitState, type Observed, type ServicingState, type UnitRegistry,
} from '../state/index.ts';
import type { Manifest, PartInput } from '../store/index.ts';
import { defaultRegistry } from './registry.ts';
import type { Vtl0Rings } from '../hcl/index.ts';

/**
 * How a saved VM is laid out as snapshot parts. Each part is one content-addressed blob, so a
 * unit that did not change between two snapshots is stored once:
 * - `init`: the ServicingState's initState, field-numbered (meta: generation, type URL)
 * - `unit/<name>`: one state unit's saved value in its generation's wire form, field-numbered from
 *   generation 3 (meta: package, generation, type URL)
 * - `hv`: the hypervisor's per-VP registers, saved by the hypervisor, not openvmm_hcl (msgpack bin
 *   of the register file, lib/hv/layout.ts; generation 1 snapshots hold them by name)
 * - `persisted`: the shim persisted-state payload behind OHCLPHDR (protobuf SavedState; meta: format)
 * - `vtl0`: VTL0 guest memory the host keeps across servicing, as far as the model needs it: the
 *   VMBus ring control pages (canonical msgpack of Vtl0Rings). Not part of OpenHCL's saved state.
 * - `igvm`: the IGVM package the VM ran, so a restore can reload it
 */

/** Part names. */
export const PART = { init: 'init', hv: 'hv', persisted: 'persisted', vtl0: 'vtl0', igvm: 'igvm', unitPrefix: 'unit/' } as const;

/** What a manifest's `info` holds for a VM snapshot. */
export interface SnapshotInfo {
  config: VmConfig;
  overrides: Override[];
  igvmDigest: string;
  usermodeVersion: string;
  /** What hclckpt observed at save: discovered topology, usermode options, usermode version (absent before generation 3, whose init state held them). */
  observed?: Observed;
  /** Highest unit schema generation in the snapshot. */
  generation: number;
  topology: { arch: string; vps: number; nodes: number };
  /** `/proc/cmdline` of the kernel that ran when the snapshot was taken. */
  cmdline: string;
  workload: { seed: number; steps: number } | null;
  correlationId: string;
}

/** Everything a save writes, as store parts. */
export function encodeParts(
  state: ServicingState,
  unitMeta: ReadonlyMap<string, { package: string; generation: number }>,
  hv: unknown,
  persisted: PersistedPayload,
  igvm: Uint8Array,
  vtl0: Vtl0Rings,
  registry: UnitRegistry = defaultRegistry(),
): PartInput[] {
  return [
    { name: PART.init, bytes: encodeFields(InitStateSchema, state.initState), meta: { generation: FIELDS_GENERATION, type: INIT_TYPE } },
    ...state.units.map((u) => {
      const meta = unitMeta.get(u.name);
      if (meta === undefined) throw new TypeError(`unit ${u.name} has no metadata`);
      const bytes = registry.encodeState(u.name, meta.generation, u.state);
      return { name: PART.unitPrefix + u.name, bytes, meta: { ...meta, type: typeUrl(registry.get(u.name)) } };
    }),
    { name: PART.hv, bytes: encodeCanonical(hv), meta: { package: HV_DESCRIPTOR.package, generation: hvGenerationOf(hv) } },
    { name: PART.persisted, bytes: encodePersistedPayload(persisted), meta: { format: PERSISTED_PART_FORMAT } },
    { name: PART.vtl0, bytes: encodeCanonical(vtl0), meta: { host: true } },
    { name: PART.igvm, bytes: igvm },
  ];
}

/** The init part as generations 1–2 wrote it (name-keyed, observed fields inside), for `save --generation 1|2`. */
export function legacyInitPart(init: InitState, observed: Observed): PartInput {
  return { name: PART.init, bytes: encodeCanonical(downgradeInit(init, observed)) };
}

/** The manifest's `info` as a SnapshotInfo (STATE_DECODE when it is not a VM snapshot). */
export function snapshotInfo(m: Manifest): SnapshotInfo {
  const info = m.info as Partial<SnapshotInfo>;
  if (typeof info.config !== 'object' || info.config === null || typeof info.igvmDigest !== 'string') {
    throw new HclError('STATE_DECODE', `snapshot ${m.id.slice(0, 12)}: manifest carries no VM snapshot info`);
  }
  return info as SnapshotInfo;
}
