import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { VmConfig } from '../../config/index.ts';
import { SAVE_RANK, field, u64, uint, type UnitDescriptor } from '../../state/index.ts';

/**
 * The `vmbus` unit's saved state, vmbus_server's `SavedState` (package `vmbus.server`) whose
 * `server` is the channel library's `vmbus.server.channels.SavedState`
 * (vmbus_server/src/channels/saved_state.rs): the connection, every offered channel and every
 * GPADL, with the real names and `#[mesh(N)]` numbers, for the variants the model reaches; and
 * the protocol facts the server derives them from. No ring position is here (lib/hcl/units/vmbus-rings.ts).
 */

const PAGE = 4096;
const guid = (description: string) => Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$', description });
/** A Rust enum variant that carries no data, as mesh encodes it in a oneof: an empty message. */
const unit = () => Type.Optional(Type.Object({}));
const opt = <T extends TSchema>(n: number, s: T) => field(n, Type.Optional(s));

/** vmbus_core protocol.rs `Version::Copper`, the newest version the server supports (channels.rs SUPPORTED_VERSIONS). */
export const VERSION_COPPER = 6 << 16;
/** vmbus_core `VMBUS_SINT`: the SINT channel connection ids name. */
const VMBUS_SINT = 2;
/** Bytes of an OpenRequest's `user_data`. */
export const USER_DATA = 120;

/** The interface id each channel kind offers (the devices' interface GUIDs in openvmm); hvsock offers its service id, here vsock port 0 (support/hybrid_vsock VSOCK_TEMPLATE). */
export const INTERFACE_IDS: Readonly<Record<VmConfig['devices']['channels'][number]['kind'], string>> = {
  storvsc: 'ba6163d9-04a1-4d29-b605-72e2ffb1dc7f', // storvsp_protocol SCSI_INTERFACE_ID
  netvsc: 'f8615163-df3e-46c5-913f-f2d2f965ed0e', // netvsp
  hvsock: '00000000-facb-11e6-bd58-64006a7986d3',
  keyboard: 'f912ad6d-2b17-48ea-bd65-f927a61c7684', // uidevices keyboard INTERFACE_GUID
  framebuffer: 'da0a7802-e377-4aac-8e77-0558eb1073f8', // uidevices video
  vpci: '44c4f61d-4444-4400-9d52-802e27ede19f', // vpci_protocol GUID_VPCI_VSP_CHANNEL_TYPE
};
/** Channel kinds that use monitored (latency-batched) notification. */
export const MONITORED: ReadonlySet<string> = new Set(['storvsc', 'netvsc']);

/** The connection id a channel is offered with (vmbus_core protocol.rs `ConnectionId::new`, VTL 0). */
export function offeredConnectionId(channelId: number): number {
  return channelId | (VMBUS_SINT << 12);
}

/** `OfferKey` (vmbus_channel bus.rs, package vmbus). */
export const OfferKeySchema = Type.Object({ interfaceId: field(1, guid('interface id')), instanceId: field(2, guid('instance id')), subchannelIndex: field(3, uint(16)) });
/** `OpenRequest`: what the guest's OpenChannel asked for. */
export const OpenRequestSchema = Type.Object({
  openId: field(1, uint(32)),
  ringBufferGpadlId: field(2, uint(32)),
  targetVp: field(3, uint(32)),
  downstreamRingBufferPageOffset: field(4, uint(32)),
  userData: field(5, Type.Uint8Array({ minByteLength: USER_DATA, maxByteLength: USER_DATA })),
  flags: field(7, uint(16)),
});
export type OpenRequest = Static<typeof OpenRequestSchema>;
/** `ChannelState`, a oneof: `Closed` (1) or `Open { params, modify_state }` (3); exactly one is present. */
export const ChannelStateSchema = Type.Object({
  closed: field(1, unit()),
  open: opt(3, Type.Object({ params: field(1, OpenRequestSchema), modifyState: field(2, Type.Object({ notModifying: field(1, unit()) })) })),
});
/** `Channel`. */
export const ChannelSchema = Type.Object({
  key: field(1, OfferKeySchema),
  channelId: field(2, uint(32, 'the relid, 1-based in offer order')),
  offeredConnectionId: field(3, uint(32)),
  state: field(4, ChannelStateSchema),
  monitorId: opt(5, uint(8)),
});
export type Channel = Static<typeof ChannelSchema>;
/** `Gpadl`: `buf` holds `count` ranges, each a `GpaRange {len, offset}` word (len low) followed by its page numbers. */
export const GpadlSchema = Type.Object({
  id: field(1, uint(32)),
  channelId: field(2, uint(32)),
  count: field(3, uint(16)),
  buf: field(4, Type.Array(u64(), { maxItems: 1 << 20 })),
  state: field(5, Type.Union([Type.Literal('inProgress'), Type.Literal('offered'), Type.Literal('accepted'), Type.Literal('tearingDown')])),
});
export type Gpadl = Static<typeof GpadlSchema>;
/** `Connection::Connected` (variant 3), the only connection state the model reaches. */
export const ConnectionSchema = Type.Object({
  connected: field(3, Type.Object({
    version: field(1, Type.Object({ version: field(1, uint(32)), featureFlags: field(2, uint(32)) })),
    offersSent: field(2, Type.Boolean()),
    interruptPage: opt(3, u64()),
    targetMessageVp: field(5, uint(32)),
    modifying: field(6, Type.Boolean()),
    clientId: opt(7, guid('client id')),
    trusted: field(8, Type.Boolean()),
    paused: field(9, Type.Boolean()),
  })),
});
/** vmbus_server lib.rs `SavedState` around channels::SavedState {state: ConnectedState {connection, channels, gpadls}, pending_messages}. */
export const VmbusStateSchema = Type.Object({
  server: field(1, Type.Object({
    state: field(1, Type.Object({ connection: field(1, ConnectionSchema), channels: field(2, Type.Array(ChannelSchema)), gpadls: field(3, Type.Array(GpadlSchema)) })),
    pendingMessages: field(3, Type.Array(Type.Uint8Array({ maxByteLength: 256 }))),
  })),
  lostSynicBugFixed: field(2, Type.Boolean()),
});
export type VmbusState = Static<typeof VmbusStateSchema>;

/** Descriptor of the `vmbus` unit (release generation 4). */
export const VMBUS_UNIT: UnitDescriptor = {
  name: 'vmbus',
  package: 'vmbus.server',
  message: 'SavedState',
  saveRank: SAVE_RANK.other,
  generations: [{ generation: 4, schema: VmbusStateSchema, wire: 'fields' }],
};

/** The GPADL's pages in order (its ranges concatenated), and what is wrong with `buf` when it does not hold `count` valid ranges. */
export function walkGpadl(g: Gpadl): { pages: bigint[]; problem?: string } {
  const pages: bigint[] = [];
  let i = 0;
  for (let r = 0; r < g.count; r++) {
    const word = g.buf[i];
    if (word === undefined) return { pages, problem: `range ${r} is missing` };
    // gparange.rs validate_gpa_ranges: a non-empty range, offset within its first page, all its page numbers present.
    const len = Number(word & 0xffff_ffffn);
    const offset = Number(word >> 32n);
    const n = Math.ceil((offset + len) / PAGE);
    if (len === 0 || offset >= PAGE || i + 1 + n > g.buf.length) return { pages, problem: `range ${r} (len ${len}, offset ${offset}) does not fit` };
    pages.push(...g.buf.slice(i + 1, i + 1 + n));
    i += 1 + n;
  }
  return { pages };
}

/** The GPADL's pages in order (its ranges concatenated). */
export function gpadlPages(g: Gpadl): bigint[] {
  return walkGpadl(g).pages;
}

/** One GPADL range as `buf` holds it: the GpaRange word (byte count low, offset 0 high) then the page numbers. */
export function gpaRangeWords(gpa: bigint, pages: number): bigint[] {
  return [BigInt(pages * PAGE), ...Array.from({ length: pages }, (_, i) => (gpa >> 12n) + BigInt(i))];
}

/** A freshly connected server, as a Linux guest leaves it after InitiateContact and RequestOffers. */
export function connectedServer(channels: Channel[], gpadls: Gpadl[]): VmbusState {
  const connected = { version: { version: VERSION_COPPER, featureFlags: 0 }, offersSent: true, targetMessageVp: 0, modifying: false, trusted: false, paused: false };
  return { server: { state: { connection: { connected }, channels, gpadls }, pendingMessages: [] }, lostSynicBugFixed: true };
}

