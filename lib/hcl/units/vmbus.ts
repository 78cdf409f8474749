import { HclError } from '../../errors.ts';
import { UnitBase, type UnitContext } from './base.ts';
import { GuestRingPages } from './vmbus-rings.ts';
import { INTERFACE_IDS, MONITORED, USER_DATA, VMBUS_UNIT, connectedServer, gpaRangeWords, gpadlPages, offeredConnectionId, walkGpadl, type Channel, type Gpadl, type VmbusState } from './vmbus-state.ts';

/**
 * `vmbus`: the VTL2 VMBus server as OpenHCL registers it (underhill_core worker.rs
 * `state_units.add("vmbus")`), its state in vmbus_server's shape (lib/hcl/units/vmbus-state.ts).
 * The ring positions are not in it: they live in the rings' control pages in VTL0 memory
 * (`guest`). A ring GPADL holds the guest-to-host ring (`in`) first and, from
 * `downstream_ring_buffer_page_offset`, the host-to-guest ring (`out`); each ring's first page is
 * its control page.
 */

const PAGE = 4096;

/** Which ring of a channel: `in` = guest → host, `out` = host → guest. */
export type RingDir = 'in' | 'out';

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
