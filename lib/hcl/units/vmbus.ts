import { Type, type Static } from '@sinclair/typebox';
import { ChannelKindSchema } from '../../config/index.ts';
import { SAVE_RANK, field, fieldsGeneration, nameKeyed, u64, uint, type UnitDescriptor } from '../../state/index.ts';
import { UnitBase, type UnitContext } from './base.ts';

/**
 * `vmbus.server.channels`: the VTL2 VMBus server's channel table. Each configured channel is
 * offered at boot; the guest creates GPADLs, opens a channel on a ring-buffer GPADL with a target
 * VP, and both sides move the ring positions. A ring GPADL holds the outgoing (host → guest) ring
 * in its first half and the incoming ring in its second; each ring's first page is its header.
 */

const PAGE = 4096;
/** Monitor id of a channel without monitored notification. */
export const NO_MONITOR = 255;
/** Channel kinds that use monitored (latency-batched) notification. */
const MONITORED = new Set(['storvsc', 'netvsc']);

/** A ring's positions within its data area (bytes). */
export const RingSchema = Type.Object({ read: field(1, uint(32)), write: field(2, uint(32)) });
/** One GPADL: guest pages described to the host. */
export const GpadlSchema = Type.Object({
  id: field(1, uint(32)),
  ranges: field(2, Type.Array(Type.Object({ gpa: field(1, u64('page-aligned start')), pages: field(2, uint(32)) }), { minItems: 1 })),
});
export type Gpadl = Static<typeof GpadlSchema>;

/** One offered channel. */
export const ChannelStateSchema = Type.Object({
  offerId: field(1, uint(32, 'child relative id, 1-based in offer order')),
  instanceId: field(2, Type.String()),
  kind: field(3, ChannelKindSchema),
  open: field(4, Type.Boolean()),
  targetVp: field(5, uint(32)),
  monitorId: field(6, uint(8, '255 = not monitored')),
  gpadls: field(7, Type.Array(GpadlSchema)),
  ringGpadlId: field(8, uint(32, 'GPADL holding the rings while open, else 0')),
  ringSize: field(9, uint(32, 'data bytes per ring while open, else 0')),
  in: field(10, RingSchema),
  out: field(11, RingSchema),
});
export type ChannelState = Static<typeof ChannelStateSchema>;

/** The `vmbus.server.channels` unit's saved state. */
export const VmbusStateSchema = Type.Object({ channels: field(1, Type.Array(ChannelStateSchema)) });
export type VmbusState = Static<typeof VmbusStateSchema>;

/** Descriptor of the `vmbus.server.channels` unit. */
export const VMBUS_UNIT: UnitDescriptor = {
  name: 'vmbus.server.channels',
  package: 'openvmm.vmbus.server.channels',
  message: 'SavedState',
  saveRank: SAVE_RANK.other,
  generations: [{ generation: 1, schema: nameKeyed(VmbusStateSchema) }, fieldsGeneration(VmbusStateSchema)],
};

/** Which ring of a channel: `in` = guest → host, `out` = host → guest. */
export type RingDir = 'in' | 'out';

/** The VMBus server's channels; channels are addressed by offer order (0-based). */
export class VmbusChannelsUnit extends UnitBase<VmbusState> {
  constructor(ctx: UnitContext) {
    super(VMBUS_UNIT, ctx);
  }

  defaultState(): VmbusState {
    let monitor = 0;
    return {
      channels: this.ctx.devices.channels.map((c, i) => ({
        offerId: i + 1,
        instanceId: c.instanceId,
        kind: c.kind,
        open: false,
        targetVp: 0,
        monitorId: MONITORED.has(c.kind) && monitor < NO_MONITOR ? monitor++ : NO_MONITOR,
        gpadls: [],
        ringGpadlId: 0,
        ringSize: 0,
        in: { read: 0, write: 0 },
        out: { read: 0, write: 0 },
      })),
    };
  }

  /** Guest describes `ranges` as GPADL `id` (unique within the connection, non-zero). */
  createGpadl(ch: number, id: number, ranges: Gpadl['ranges']): void {
    const c = this.#ch(ch);
    if (!Number.isInteger(id) || id <= 0 || id > 0xffff_ffff) throw this.invalid(`gpadl: id ${id} not in 1..0xffffffff`);
    if (this.state.channels.some((o) => o.gpadls.some((g) => g.id === id))) throw this.invalid(`gpadl: id ${id} already in use`);
    if (ranges.length === 0) throw this.invalid(`gpadl ${id}: no ranges`);
    for (const r of ranges) {
      if (r.gpa < 0n || (r.gpa & 0xfffn) !== 0n || !Number.isInteger(r.pages) || r.pages < 1) {
        throw this.invalid(`gpadl ${id}: range 0x${r.gpa.toString(16)}+${r.pages} pages is not page aligned and non-empty`);
      }
    }
    c.gpadls.push({ id, ranges: ranges.map((r) => ({ gpa: r.gpa, pages: r.pages })) });
  }

  /** Guest tears a GPADL down; refused while it holds an open channel's rings. */
  teardownGpadl(ch: number, id: number): void {
    const c = this.#ch(ch);
    const i = c.gpadls.findIndex((g) => g.id === id);
    if (i < 0) throw this.invalid(`teardown: channel ${ch} has no gpadl ${id}`);
    if (c.open && c.ringGpadlId === id) throw this.invalid(`teardown: gpadl ${id} holds the rings of open channel ${ch}`);
    c.gpadls.splice(i, 1);
  }

  /** Guest opens a channel with its rings in GPADL `ringGpadlId`, interrupts to `targetVp`. */
  open(ch: number, targetVp: number, ringGpadlId: number): void {
    const c = this.#ch(ch);
    if (c.open) throw this.invalid(`open: channel ${ch} is already open`);
    this.checkVp(targetVp, `open channel ${ch}`);
    const g = c.gpadls.find((x) => x.id === ringGpadlId);
    if (g === undefined) throw this.invalid(`open: channel ${ch} has no gpadl ${ringGpadlId}`);
    const pages = g.ranges.reduce((n, r) => n + r.pages, 0);
    if (pages < 4 || pages % 2 !== 0) throw this.invalid(`open: gpadl ${ringGpadlId} has ${pages} pages, need an even count ≥ 4`);
    Object.assign(c, { open: true, targetVp, ringGpadlId, ringSize: (pages / 2 - 1) * PAGE });
    c.in = { read: 0, write: 0 };
    c.out = { read: 0, write: 0 };
  }

  /** Closes a channel: the rings are released, the GPADLs stay until torn down. */
  close(ch: number): void {
    const c = this.#open(ch, 'close');
    Object.assign(c, { open: false, ringGpadlId: 0, ringSize: 0 });
    c.in = { read: 0, write: 0 };
    c.out = { read: 0, write: 0 };
  }

  /** Writes one packet of `len` payload bytes (8-byte aligned, plus the 8-byte trailer); false when the ring is full. */
  write(ch: number, dir: RingDir, len: number): boolean {
    const c = this.#open(ch, 'write');
    if (!Number.isInteger(len) || len < 1) throw this.invalid(`write: packet length ${len} on channel ${ch}`);
    const packet = Math.ceil(len / 8) * 8 + 8;
    const ring = c[dir];
    const used = (ring.write - ring.read + c.ringSize) % c.ringSize;
    // One byte short of full keeps read == write meaning "empty".
    if (used + packet >= c.ringSize) return false;
    ring.write = (ring.write + packet) % c.ringSize;
    return true;
  }

  /** The reader drains a ring; returns the bytes consumed. */
  drain(ch: number, dir: RingDir): number {
    const c = this.#open(ch, 'drain');
    const ring = c[dir];
    const used = (ring.write - ring.read + c.ringSize) % c.ringSize;
    ring.read = ring.write;
    return used;
  }

  /** Guest retargets an open channel's interrupts to another VP (ModifyChannel). */
  retarget(ch: number, targetVp: number): void {
    const c = this.#open(ch, 'retarget');
    this.checkVp(targetVp, `retarget channel ${ch}`);
    c.targetVp = targetVp;
  }

  protected override checkRestore(s: VmbusState): void {
    s.channels.forEach((c, i) => this.checkRestoredVp(c.targetVp, `channels[${i}].targetVp`));
  }

  #ch(ch: number): ChannelState {
    return this.at(this.state.channels, ch, 'channel');
  }

  #open(ch: number, where: string): ChannelState {
    const c = this.#ch(ch);
    if (!c.open) throw this.invalid(`${where}: channel ${ch} is not open`);
    return c;
  }
}
