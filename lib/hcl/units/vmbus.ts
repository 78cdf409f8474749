import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { VmConfig } from '../../config/index.ts';
import { HclError } from '../../errors.ts';
import { SAVE_RANK, field, u64, uint, type UnitDescriptor } from '../../state/index.ts';
import { UnitBase, type UnitContext } from './base.ts';
import { GuestRingPages } from './vmbus-rings.ts';

/**
 * `vmbus`: the VTL2 VMBus server as OpenHCL registers it (underhill_core worker.rs
 * `state_units.add("vmbus")`), saving vmbus_server's `SavedState` (package `vmbus.server`) whose
 * `server` is the channel library's `vmbus.server.channels.SavedState`
 * (vmbus_server/src/channels/saved_state.rs): the connection, every offered channel and every
 * GPADL, with the real names and `#[mesh(N)]` numbers, for the variants the model reaches. The
 * ring positions are not here: they live in the rings' control pages in VTL0 memory (`guest`).
 * A ring GPADL holds the guest-to-host ring (`in`) first and, from
 * `downstream_ring_buffer_page_offset`, the host-to-guest ring (`out`); each ring's first page is its control page.
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
const USER_DATA = 120;

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
const MONITORED = new Set(['storvsc', 'netvsc']);

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

/** The GPADL's pages in order (its ranges concatenated); what is wrong with `buf` when it does not hold `count` valid ranges. */
function walkGpadl(g: Gpadl): { pages: bigint[]; problem?: string } {
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

/** Which ring of a channel: `in` = guest → host, `out` = host → guest. */
export type RingDir = 'in' | 'out';

/** A freshly connected server, as a Linux guest leaves it after InitiateContact and RequestOffers. */
export function connectedServer(channels: Channel[], gpadls: Gpadl[]): VmbusState {
  const connected = { version: { version: VERSION_COPPER, featureFlags: 0 }, offersSent: true, targetMessageVp: 0, modifying: false, trusted: false, paused: false };
  return { server: { state: { connection: { connected }, channels, gpadls }, pendingMessages: [] }, lostSynicBugFixed: true };
}

/** The VMBus server's channels; channels are addressed by offer order (0-based). */
export class VmbusServerUnit extends UnitBase<VmbusState> {
  /** VTL0 memory the rings' control pages live in; the host keeps it across servicing. */
  readonly guest = new GuestRingPages();

  constructor(ctx: UnitContext) {
    super(VMBUS_UNIT, ctx);
  }

  defaultState(): VmbusState {
    let monitor = 0;
    return connectedServer(this.ctx.devices.channels.map((c, i) => ({
      key: { interfaceId: INTERFACE_IDS[c.kind], instanceId: c.instanceId, subchannelIndex: 0 },
      channelId: i + 1,
      offeredConnectionId: offeredConnectionId(i + 1),
      state: { closed: {} },
      ...(MONITORED.has(c.kind) ? { monitorId: monitor++ } : {}),
    })), []);
  }

  /** Ids of channel `ch`'s GPADLs, in creation order. */
  gpadlIds(ch: number): number[] {
    const id = this.#ch(ch).channelId;
    return this.#gpadls.filter((g) => g.channelId === id).map((g) => g.id);
  }

  /** The GPADL holding channel `ch`'s rings while it is open, else undefined. */
  ringGpadlId(ch: number): number | undefined {
    return this.#ch(ch).state.open?.params.ringBufferGpadlId;
  }

  /** Guest describes `ranges` as GPADL `id` (unique within the connection, non-zero). */
  createGpadl(ch: number, id: number, ranges: ReadonlyArray<{ gpa: bigint; pages: number }>): void {
    const c = this.#ch(ch);
    if (!Number.isInteger(id) || id <= 0 || id > 0xffff_ffff) throw this.invalid(`gpadl: id ${id} not in 1..0xffffffff`);
    if (this.#gpadls.some((g) => g.id === id)) throw this.invalid(`gpadl: id ${id} already in use`);
    if (ranges.length === 0 || ranges.length > 0xffff) throw this.invalid(`gpadl ${id}: ${ranges.length} ranges, need 1..65535`);
    const buf: bigint[] = [];
    for (const r of ranges) {
      if (r.gpa < 0n || (r.gpa & 0xfffn) !== 0n || !Number.isInteger(r.pages) || r.pages < 1 || r.pages * PAGE > 0xffff_ffff) {
        throw this.invalid(`gpadl ${id}: range 0x${r.gpa.toString(16)}+${r.pages} pages is not page aligned, non-empty and under 4 GiB`);
      }
      buf.push(...gpaRangeWords(r.gpa, r.pages));
    }
    // Kept grouped by channel (in relid order, each channel's in creation order): one order for the same GPADLs.
    const at = this.#gpadls.findIndex((g) => g.channelId > c.channelId);
    this.#gpadls.splice(at < 0 ? this.#gpadls.length : at, 0, { id, channelId: c.channelId, count: ranges.length, buf, state: 'accepted' });
  }

  /** Guest tears a GPADL down; refused while it holds an open channel's rings. */
  teardownGpadl(ch: number, id: number): void {
    const c = this.#ch(ch);
    const list = this.#gpadls;
    const i = list.findIndex((g) => g.id === id && g.channelId === c.channelId);
    if (i < 0) throw this.invalid(`teardown: channel ${ch} has no gpadl ${id}`);
    if (c.state.open?.params.ringBufferGpadlId === id) throw this.invalid(`teardown: gpadl ${id} holds the rings of open channel ${ch}`);
    list.splice(i, 1);
  }

  /** Guest opens a channel with its rings in GPADL `ringGpadlId` (split in halves), interrupts to `targetVp`. */
  open(ch: number, targetVp: number, ringGpadlId: number): void {
    const c = this.#ch(ch);
    if (c.state.open !== undefined) throw this.invalid(`open: channel ${ch} is already open`);
    this.checkVp(targetVp, `open channel ${ch}`);
    const g = this.#gpadls.find((x) => x.id === ringGpadlId && x.channelId === c.channelId);
    if (g === undefined) throw this.invalid(`open: channel ${ch} has no gpadl ${ringGpadlId}`);
    const pages = gpadlPages(g).length;
    if (pages < 4 || pages % 2 !== 0) throw this.invalid(`open: gpadl ${ringGpadlId} has ${pages} pages, need an even count ≥ 4`);
    // As a Linux guest does (vmbus_open): openid = relid, no user data, the rings zeroed.
    const params = { openId: c.channelId, ringBufferGpadlId: ringGpadlId, targetVp, downstreamRingBufferPageOffset: pages / 2, userData: new Uint8Array(USER_DATA), flags: 0 };
    c.state = { open: { params, modifyState: { notModifying: {} } } };
    for (const dir of ['in', 'out'] as const) this.guest.set(this.#ring(ch, dir).control, { inp: 0, outp: 0 });
  }

  /** Closes a channel: the guest stops using the rings, the GPADLs stay until torn down. */
  close(ch: number): void {
    this.#open(ch, 'close');
    for (const dir of ['in', 'out'] as const) this.guest.drop(this.#ring(ch, dir).control);
    this.#ch(ch).state = { closed: {} };
  }

  /** Writes one packet of `len` payload bytes (8-byte aligned, plus the 8-byte trailer); false when the ring is full. */
  write(ch: number, dir: RingDir, len: number): boolean {
    this.#open(ch, 'write');
    if (!Number.isInteger(len) || len < 1) throw this.invalid(`write: packet length ${len} on channel ${ch}`);
    const { control, size } = this.#ring(ch, dir);
    const r = this.#indices(ch, dir, control, size);
    const packet = Math.ceil(len / 8) * 8 + 8;
    // One byte short of full keeps inp == outp meaning "empty".
    if ((r.inp - r.outp + size) % size + packet >= size) return false;
    this.guest.set(control, { ...r, inp: (r.inp + packet) % size });
    return true;
  }

  /** The reader drains a ring; returns the bytes consumed. */
  drain(ch: number, dir: RingDir): number {
    this.#open(ch, 'drain');
    const { control, size } = this.#ring(ch, dir);
    const r = this.#indices(ch, dir, control, size);
    this.guest.set(control, { ...r, outp: r.inp });
    return (r.inp - r.outp + size) % size;
  }

  /** Guest retargets an open channel's interrupts to another VP (ModifyChannel, completed at once). */
  retarget(ch: number, targetVp: number): void {
    const o = this.#open(ch, 'retarget');
    this.checkVp(targetVp, `retarget channel ${ch}`);
    o.params.targetVp = targetVp;
  }

  protected override checkRestore(s: VmbusState): void {
    s.server.state.gpadls.forEach((g, i) => {
      const problem = g.state === 'inProgress' ? undefined : walkGpadl(g).problem;
      if (problem !== undefined) throw new HclError('STATE_SCHEMA', `vmbus: server.state.gpadls[${i}].buf: gpadl ${g.id}: ${problem}`);
    });
    s.server.state.channels.forEach((c, i) => {
      const variants = Object.keys(c.state).filter((k) => (c.state as Record<string, unknown>)[k] !== undefined).sort();
      if (variants.length !== 1) throw new HclError('STATE_SCHEMA', `vmbus: server.state.channels[${i}].state: ${variants.length} variants set (${variants.join(', ') || 'none'}), a oneof needs exactly one`);
      if (c.state.open !== undefined) this.checkRestoredVp(c.state.open.params.targetVp, `server.state.channels[${i}].state.open.params.targetVp`);
    });
  }

  get #gpadls(): Gpadl[] {
    return this.state.server.state.gpadls;
  }

  /** The ring `dir` of open channel `ch`: its control page GPA and data size in bytes. */
  #ring(ch: number, dir: RingDir): { control: bigint; size: number } {
    const o = this.#open(ch, 'ring');
    const g = this.#gpadls.find((x) => x.id === o.params.ringBufferGpadlId && x.channelId === this.#ch(ch).channelId);
    const pages = g === undefined ? [] : gpadlPages(g);
    const split = o.params.downstreamRingBufferPageOffset;
    const [first, count] = dir === 'in' ? [0, split] : [split, pages.length - split];
    const page = pages[first];
    if (page === undefined || count < 2) throw this.invalid(`channel ${ch}: ring gpadl ${o.params.ringBufferGpadlId} has no ${dir} ring at page ${first} of ${pages.length}`);
    return { control: page << 12n, size: (count - 1) * PAGE };
  }

  /** The control page's indices; as vmbus_ring validates them, one outside the ring or unaligned is a corrupt ring. */
  #indices(ch: number, dir: RingDir, control: bigint, size: number): { inp: number; outp: number } {
    const r = this.guest.get(control);
    for (const v of [r.inp, r.outp]) {
      if (v >= size || v % 8 !== 0) throw this.invalid(`channel ${ch} ${dir} ring: control page 0x${control.toString(16)} holds index ${v}, outside its ${size}-byte ring or unaligned`);
    }
    return r;
  }

  #ch(ch: number): Channel {
    return this.at(this.state.server.state.channels, ch, 'channel');
  }

  #open(ch: number, where: string): NonNullable<Channel['state']['open']> {
    const o = this.#ch(ch).state.open;
    if (o === undefined) throw this.invalid(`${where}: channel ${ch} is not open`);
    return o;
  }
}
