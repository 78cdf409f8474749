import { Type, type Static } from '@sinclair/typebox';
import type { Topology } from '../config/index.ts';
import { HclError } from '../errors.ts';
import { enumOf, field } from './fields.ts';
import { NvmeSavedStateSchema } from './nvme-state.ts';
import { bytes, i64, u64, uint } from './unit.ts';

/**
 * `ServicingInitState`, the state openvmm_hcl needs before any unit restores, with the fields and
 * field numbers of openhcl/underhill_core/src/servicing.rs (package `underhill`). The NVMe manager's
 * state is the real message (./nvme-state.ts), written only under NVMe keep-alive. Sub-messages of
 * parts hclckpt does not model (VMGS, DMA manager, VMBus client, MANA) keep their field numbers
 * but hold opaque bytes; the model never writes them. What hclckpt observed about
 * the VM (topology, options, usermode version) is not part of it: the snapshot manifest keeps it.
 */

const UUID = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
const Guid = Type.String({ pattern: UUID });
/** Type URL of the init state, as its `SavedStateRoot` would name it. */
export const INIT_TYPE = 'underhill.ServicingInitState';

const opaque = (what: string) => bytes(undefined, `${what}: not modelled by hclckpt, kept as bytes`);

// emuplat/i440bx_host_pci_bridge.rs `state::SavedState`, `SavedHandle`; MemoryRange is {start, end}.
const SavedHandle = Type.Object({
  remoteHandle: field(1, uint(32)),
  range: field(2, Type.Object({ start: field(1, u64()), end: field(2, u64()) })),
  gpaOffset: field(3, u64()),
  isRom: field(4, Type.Boolean()),
});
const GetBackedAdjustGpaRange = Type.Object({
  baseSlot: field(1, uint(32)),
  handles: field(2, Type.Array(Type.Union([SavedHandle, Type.Null()]), { minItems: 13, maxItems: 13 })),
});

/** `EmuplatSavedState` (servicing.rs) with the real sub-messages (emuplat/local_clock.rs, netvsp.rs). */
export const EmuplatSchema = Type.Object({
  rtcLocalClock: field(1, Type.Object({ offsetFromHostTimeMillis: field(1, i64('guest RTC minus host time, ms')) })),
  getBackedAdjustGpaRange: field(2, Type.Optional(GetBackedAdjustGpaRange)),
  netvspState: field(3, Type.Array(Type.Object({
    instanceId: field(1, Guid),
    directionToVtl0: field(2, Type.Array(Type.Union([Type.Boolean(), Type.Null()]))),
    hiddenVtl0: field(3, Type.Optional(Type.Boolean())),
  }))),
  networkAdapterIndex: field(4, Type.Optional(Type.Array(Type.Object({
    macAddress: field(1, Type.Uint8Array({ minByteLength: 6, maxByteLength: 6 })),
    adapterIndex: field(2, uint(32)),
  })))),
});

/** `ServicingInitState` (servicing.rs): field numbers as there, 10000+ for the late additions. */
export const InitStateSchema = Type.Object({
  /** servicing.rs `Firmware`: `#[mesh(1)] Uefi`, `#[mesh(2)] Pcat`, `#[mesh(3)] None`. */
  firmwareType: field(1, enumOf({ uefi: 1, pcat: 2, none: 3 })),
  vmStopReferenceTime: field(2, u64('hypervisor reference time when the state units stopped, 100 ns units')),
  correlationId: field(3, Type.Optional(Guid)),
  emuplat: field(4, EmuplatSchema),
  flushLogsResult: field(5, Type.Optional(Type.Object({ durationUs: field(1, u64()), error: field(2, Type.Optional(Type.String())) }))),
  vmgs: field(6, Type.Optional(Type.Object({ state: field(1, opaque('SavedVmgsState')), diskMetadata: field(2, opaque('SavedBlockStorageMetadata')) }))),
  overlayShutdownDevice: field(7, Type.Boolean()),
  hibernate: field(8, Type.Optional(Type.Object({ token: field(1, u64()) }))),
  nvmeState: field(10000, Type.Optional(NvmeSavedStateSchema)),
  dmaManagerState: field(10001, Type.Optional(opaque('OpenhclDmaManagerState'))),
  vmbusClient: field(10002, Type.Optional(opaque('vmbus_client::SavedState'))),
  manaState: field(10003, Type.Optional(Type.Array(opaque('ManaSavedState')))),
});
export type InitState = Static<typeof InitStateSchema>;

const Range = Type.Object({ base: Type.Integer({ minimum: 0 }), size: Type.Integer({ minimum: 0 }) });

/** Schema of `Topology` (lib/config/topology.ts). */
export const TopologySchema = Type.Object({
  arch: Type.Union([Type.Literal('x86_64'), Type.Literal('aarch64')]),
  vps: Type.Array(Type.Object({ index: Type.Integer({ minimum: 0 }), reg: Type.Integer({ minimum: 0 }), vnode: Type.Integer({ minimum: 0 }) })),
  nodes: Type.Array(Type.Object({ vnode: Type.Integer({ minimum: 0 }), memory: Type.Array(Range) })),
  vtl0Mmio: Type.Array(Range),
  vtl2Mmio: Type.Array(Range),
  vtl2Ram: Type.Array(Type.Object({ base: Type.Integer({ minimum: 0 }), size: Type.Integer({ minimum: 0 }), vnode: Type.Integer({ minimum: 0 }) })),
});
// Keeps the schema in step with the hand-written interface.
const _topology: (t: Static<typeof TopologySchema>) => Topology = (t) => t;
void _topology;

/** What hclckpt observed of the VM at save (manifest `info.observed`; generations 1–2 kept it in the init state). */
export const ObservedSchema = Type.Object({
  topology: TopologySchema,
  options: Type.Record(Type.String(), Type.String()),
  usermodeVersion: Type.String(),
});
export type Observed = Static<typeof ObservedSchema>;

/** The init state generations 1 and 2 wrote (name-keyed): hclckpt's own fields beside the real ones. */
export const LegacyInitStateSchema = Type.Object({
  firmwareType: Type.Union([Type.Literal('uefi'), Type.Literal('pcat'), Type.Literal('linux-direct'), Type.Literal('none')]),
  vmStopReferenceTime: u64(),
  correlationId: Type.String({ pattern: UUID }),
  ...ObservedSchema.properties,
  emuplat: Type.Object({ rtcLocalClock: Type.Object({ offsetNs: Type.BigInt() }) }),
});
type LegacyInitState = Static<typeof LegacyInitStateSchema>;

/**
 * Today's init state as generations 1–2 wrote it (`save --generation 1|2`), with what hclckpt
 * observed back inside; STATE_GENERATION when it holds something those generations cannot express.
 */
export function downgradeInit(init: InitState, observed: Observed): LegacyInitState {
  const { emuplat, correlationId } = init;
  const extra: string[] = (['flushLogsResult', 'vmgs', 'hibernate', 'nvmeState', 'dmaManagerState', 'vmbusClient', 'manaState'] as const).filter((k) => init[k] !== undefined);
  if (init.overlayShutdownDevice) extra.push('overlayShutdownDevice');
  if (emuplat.getBackedAdjustGpaRange !== undefined || emuplat.netvspState.length > 0 || emuplat.networkAdapterIndex !== undefined) extra.push('emuplat networking state');
  if (correlationId === undefined) extra.push('no correlationId');
  if (extra.length > 0) throw new HclError('STATE_GENERATION', `init state: cannot write generation 1-2: it holds ${extra.join(', ')}, which those generations cannot express`);
  return {
    firmwareType: init.firmwareType, vmStopReferenceTime: init.vmStopReferenceTime, correlationId: correlationId!, ...observed,
    emuplat: { rtcLocalClock: { offsetNs: emuplat.rtcLocalClock.offsetFromHostTimeMillis * 1_000_000n } },
  };
}

/**
 * A generation 1–2 init state (already validated) as today's init state plus what it observed.
 * `linux-direct` has no `Firmware` value in OpenHCL and becomes `none`; the RTC offset goes from ns to ms.
 */
export function upgradeLegacyInit(old: unknown): { init: InitState; observed: Observed } {
  const o = old as LegacyInitState;
  return {
    init: {
      firmwareType: o.firmwareType === 'linux-direct' ? 'none' : o.firmwareType,
      vmStopReferenceTime: o.vmStopReferenceTime,
      correlationId: o.correlationId,
      emuplat: { rtcLocalClock: { offsetFromHostTimeMillis: o.emuplat.rtcLocalClock.offsetNs / 1_000_000n }, netvspState: [] },
      overlayShutdownDevice: false,
    },
    observed: { topology: o.topology, options: o.options, usermodeVersion: o.usermodeVersion },
  };
}
