import type { VmConfig } from '../config/index.ts';
import type { Override } from '../config/index.ts';
import { HclError } from '../errors.ts';
import { HV_DESCRIPTOR, hvGenerationOf } from '../hv/index.ts';
import { PERSISTED_PART_FORMAT, encodePersistedPayload, type PersistedPayload } from '../abi/index.ts';
import { encodeCanonical, type ServicingState } from '../state/index.ts';
import type { Manifest, PartInput } from '../store/index.ts';

/**
 * How a saved VM is laid out as snapshot parts. Each part is one content-addressed blob, so a
 * unit that did not change between two snapshots is stored once:
 * - `init`: the ServicingState's initState (canonical msgpack)
 * - `unit/<name>`: one state unit's saved value (meta: package, generation)
 * - `hv`: the hypervisor's per-VP registers, saved by the hypervisor, not openvmm_hcl (msgpack bin
 *   of the register file, lib/hv/layout.ts; generation 1 snapshots hold them by name)
 * - `persisted`: the shim persisted-state payload behind OHCLPHDR (protobuf SavedState; meta: format)
 * - `igvm`: the IGVM package the VM ran, so a restore can reload it
 */

/** Part names. */
export const PART = { init: 'init', hv: 'hv', persisted: 'persisted', igvm: 'igvm', unitPrefix: 'unit/' } as const;

/** What a manifest's `info` holds for a VM snapshot. */
export interface SnapshotInfo {
  config: VmConfig;
  overrides: Override[];
  igvmDigest: string;
  usermodeVersion: string;
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
): PartInput[] {
  return [
    { name: PART.init, bytes: encodeCanonical(state.initState) },
    ...state.units.map((u) => {
      const meta = unitMeta.get(u.name);
      if (meta === undefined) throw new TypeError(`unit ${u.name} has no metadata`);
      return { name: PART.unitPrefix + u.name, bytes: encodeCanonical(u.state), meta: { ...meta } };
    }),
    { name: PART.hv, bytes: encodeCanonical(hv), meta: { package: HV_DESCRIPTOR.package, generation: hvGenerationOf(hv) } },
    { name: PART.persisted, bytes: encodePersistedPayload(persisted), meta: { format: PERSISTED_PART_FORMAT } },
    { name: PART.igvm, bytes: igvm },
  ];
}

/** The manifest's `info` as a SnapshotInfo (STATE_DECODE when it is not a VM snapshot). */
export function snapshotInfo(m: Manifest): SnapshotInfo {
  const info = m.info as Partial<SnapshotInfo>;
  if (typeof info.config !== 'object' || info.config === null || typeof info.igvmDigest !== 'string') {
    throw new HclError('STATE_DECODE', `snapshot ${m.id.slice(0, 12)}: manifest carries no VM snapshot info`);
  }
  return info as SnapshotInfo;
}
