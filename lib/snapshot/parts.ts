import type { VmConfig } from '../config/index.ts';
import type { Override } from '../config/overrides.ts';
import { HclError } from '../errors.ts';
import { HV_DESCRIPTOR } from '../hv/index.ts';
import { decodePersistedPayload, encodePersistedPayload, type PersistedPayload } from '../abi/index.ts';
import { decodeSnapshot } from './decode.ts';
import { encodeCanonical } from '../state/codec.ts';
import type { InitState, ServicingState } from '../state/servicing.ts';
import type { Manifest, PartInput, Snapshot } from '../store/index.ts';

/**
 * How a saved VM is laid out as snapshot parts. Each part is one content-addressed blob, so a
 * unit that did not change between two snapshots is stored once:
 * - `init`: the ServicingState's initState (canonical msgpack)
 * - `unit/<name>`: one state unit's saved value (meta: package, generation)
 * - `hv`: the hypervisor's per-VP registers, saved by the hypervisor, not openvmm_hcl
 * - `persisted`: the shim persisted-state payload (the topology checkpoint behind OHCLPHDR)
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

/** A snapshot's parts, decoded. */
export interface DecodedParts {
  init: InitState;
  units: ServicingState['units'];
  /** Package and generation of each unit entry, by name. */
  unitMeta: Map<string, { package: string; generation: number }>;
  hv: unknown;
  persisted: PersistedPayload;
  igvm: Uint8Array;
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
    { name: PART.hv, bytes: encodeCanonical(hv), meta: { package: HV_DESCRIPTOR.package, generation: 1 } },
    { name: PART.persisted, bytes: encodePersistedPayload(persisted) },
    { name: PART.igvm, bytes: igvm },
  ];
}

function need(s: Snapshot, name: string): Uint8Array {
  const b = s.parts.get(name);
  if (b === undefined) throw new HclError('STATE_DECODE', `snapshot ${s.manifest.id.slice(0, 12)}: part ${name} is missing`);
  return b;
}

/**
 * Decodes a snapshot's parts for restore: the units, init and hv through the same decoder `show`
 * and `diff` use, plus the shim checkpoint and the IGVM. Schema validation happens on restore.
 */
export function decodeParts(s: Snapshot): DecodedParts {
  const d = decodeSnapshot(s);
  const where = `snapshot ${s.manifest.id.slice(0, 12)}`;
  if (d.init === undefined || d.hv === undefined) throw new HclError('STATE_DECODE', `${where}: part ${d.init === undefined ? PART.init : PART.hv} is missing`);
  const entries = Object.entries(d.units);
  return {
    init: d.init as InitState,
    units: entries.map(([name, u]) => ({ name, state: u.state })),
    unitMeta: new Map(entries.map(([name, u]) => [name, { package: u.package, generation: u.generation }])),
    hv: d.hv,
    persisted: decodePersistedPayload(need(s, PART.persisted)),
    igvm: need(s, PART.igvm),
  };
}

/** The manifest's `info` as a SnapshotInfo (STATE_DECODE when it is not a VM snapshot). */
export function snapshotInfo(m: Manifest): SnapshotInfo {
  const info = m.info as Partial<SnapshotInfo>;
  if (typeof info.config !== 'object' || info.config === null || typeof info.igvmDigest !== 'string') {
    throw new HclError('STATE_DECODE', `snapshot ${m.id.slice(0, 12)}: manifest carries no VM snapshot info`);
  }
  return info as SnapshotInfo;
}
