import { Type, type Static } from '@sinclair/typebox';
import { ChannelKindSchema } from '../../config/index.ts';
import { HclError } from '../../errors.ts';
import { SAVE_RANK, field, fieldsGeneration, nameKeyed, u64, uint, type UnitDescriptor, type UnitSetStep } from '../../state/index.ts';
import { INTERFACE_IDS, connectedServer, gpaRangeWords, gpadlPages, offeredConnectionId, type Channel, type Gpadl, type VmbusState } from './vmbus-state.ts';
import type { Vtl0Rings } from './vmbus-rings.ts';

/**
 * `vmbus.server.channels`, the unit generations 1-3 wrote: the channel table with each channel's
 * GPADLs and, wrongly for OpenHCL, the ring positions (`in`, `out`). Release generation 4 retired
 * it for `vmbus` with vmbus_server's real saved state (VMBUS_STEP); the ring positions moved to
 * the rings' control pages in VTL0 memory (the snapshot's `vtl0` part).
 */

const PAGE = 4096;
/** Monitor id of a channel without monitored notification, as generation 3 wrote it. */
export const NO_MONITOR = 255;

/** A ring's positions within its data area (bytes). */
export const RingSchema = Type.Object({ read: field(1, uint(32)), write: field(2, uint(32)) });
/** One GPADL: guest pages described to the host. */
export const GpadlSchemaV3 = Type.Object({
  id: field(1, uint(32)),
  ranges: field(2, Type.Array(Type.Object({ gpa: field(1, u64('page-aligned start')), pages: field(2, uint(32)) }), { minItems: 1 })),
});
export type GpadlV3 = Static<typeof GpadlSchemaV3>;

/** One offered channel. */
export const ChannelSchemaV3 = Type.Object({
  offerId: field(1, uint(32, 'child relative id, 1-based in offer order')),
  instanceId: field(2, Type.String()),
  kind: field(3, ChannelKindSchema),
  open: field(4, Type.Boolean()),
  targetVp: field(5, uint(32)),
  monitorId: field(6, uint(8, '255 = not monitored')),
  gpadls: field(7, Type.Array(GpadlSchemaV3)),
  ringGpadlId: field(8, uint(32, 'GPADL holding the rings while open, else 0')),
  ringSize: field(9, uint(32, 'data bytes per ring while open, else 0')),
  in: field(10, RingSchema),
  out: field(11, RingSchema),
});
export type ChannelV3 = Static<typeof ChannelSchemaV3>;

/** The `vmbus.server.channels` unit's saved state. */
export const VmbusStateSchemaV3 = Type.Object({ channels: field(1, Type.Array(ChannelSchemaV3)) });
export type VmbusStateV3 = Static<typeof VmbusStateSchemaV3>;

/** The retired `vmbus.server.channels` unit: read from older snapshots, never written. */
export const VMBUS_UNIT_V3: UnitDescriptor = {
  name: 'vmbus.server.channels',
  package: 'openvmm.vmbus.server.channels',
  message: 'SavedState',
  saveRank: SAVE_RANK.other,
  generations: [{ generation: 1, schema: nameKeyed(VmbusStateSchemaV3) }, fieldsGeneration(VmbusStateSchemaV3)],
};

const RETIRED = 'vmbus.server.channels';
const zero = () => ({ read: 0, write: 0 });

/** Where an open generation-3 channel's rings had their control pages: the GPADL's first page (in) and its middle page (out). */
function controlPages(c: ChannelV3): { in: bigint; out: bigint } | undefined {
  const g = c.gpadls.find((x) => x.id === c.ringGpadlId);
  if (!c.open || g === undefined) return undefined;
  const pages = g.ranges.flatMap((r) => Array.from({ length: r.pages }, (_, i) => r.gpa + BigInt(i * PAGE)));
  const inPage = pages[0];
  const outPage = pages[pages.length / 2];
  return inPage === undefined || outPage === undefined ? undefined : { in: inPage, out: outPage };
}

/** The ring control pages a generation-3 unit implies: what VTL0 memory held when it was saved. */
export function legacyRings(s: VmbusStateV3): Vtl0Rings {
  const rings = s.channels.flatMap((c) => {
    const at = controlPages(c);
    return at === undefined ? [] : [{ gpa: at.in, inp: c.in.write, outp: c.in.read }, { gpa: at.out, inp: c.out.write, outp: c.out.read }];
  });
  return { rings: rings.sort((a, b) => (a.gpa < b.gpa ? -1 : a.gpa > b.gpa ? 1 : 0)) };
}

/** A generation-3 unit with each open channel's ring positions read from VTL0 memory, as that release kept them in the unit. */
export function withLegacyRings(s: VmbusStateV3, vtl0: Vtl0Rings): VmbusStateV3 {
  const at = new Map(vtl0.rings.map((r) => [r.gpa, { read: r.outp, write: r.inp }]));
  return {
    channels: s.channels.map((c) => {
      const pages = controlPages(c);
      return pages === undefined ? c : { ...c, in: at.get(pages.in) ?? zero(), out: at.get(pages.out) ?? zero() };
    }),
  };
}

/** A GPADL's page list as generation 3's ranges: one range per run of consecutive pages. */
function rangesOf(g: Gpadl): Array<{ gpa: bigint; pages: number }> {
  const out: Array<{ gpa: bigint; pages: number }> = [];
  for (const pfn of gpadlPages(g)) {
    const last = out.at(-1);
    if (last !== undefined && last.gpa + BigInt(last.pages * PAGE) === pfn << 12n) last.pages++;
    else out.push({ gpa: pfn << 12n, pages: 1 });
  }
  return out;
}

const KINDS = Object.entries(INTERFACE_IDS) as Array<[ChannelV3['kind'], string]>;

/**
 * Release generation 4: `vmbus.server.channels` becomes `vmbus`. Up: each channel's offer key,
 * relid, connection id, monitor id and open request, its GPADLs into the connection's list (all
 * accepted); the ring positions are dropped here (restore takes them from VTL0 memory, derived by
 * `legacyRings`). Down: the reverse, with a closed channel's target VP 0 (generation 4 keeps none)
 * and the ring positions left 0 for `withLegacyRings` to fill; a channel whose interface id is no
 * kind generation 3 knew, a subchannel, or unequal ring halves are STATE_GENERATION.
 */
export const VMBUS_STEP: UnitSetStep = {
  generation: 4,
  retires: [RETIRED],
  produces: ['vmbus'],
  why: 'the VMBus server is the vmbus unit with vmbus_server\'s saved state; ring positions live in VTL0 memory',
  up: (retired, init) => {
    const old = (retired.get(RETIRED) as VmbusStateV3 | undefined) ?? { channels: [] };
    const channels: Channel[] = old.channels.map((c) => ({
      key: { interfaceId: INTERFACE_IDS[c.kind], instanceId: c.instanceId, subchannelIndex: 0 },
      channelId: c.offerId,
      offeredConnectionId: offeredConnectionId(c.offerId),
      state: c.open
        ? { open: { params: { openId: c.offerId, ringBufferGpadlId: c.ringGpadlId, targetVp: c.targetVp, downstreamRingBufferPageOffset: c.ringSize / PAGE + 1, userData: new Uint8Array(120), flags: 0 }, modifyState: { notModifying: {} } } }
        : { closed: {} },
      ...(c.monitorId === NO_MONITOR ? {} : { monitorId: c.monitorId }),
    }));
    const gpadls: Gpadl[] = old.channels.flatMap((c) => c.gpadls.map((g) => ({
      id: g.id, channelId: c.offerId, count: g.ranges.length, state: 'accepted' as const,
      buf: g.ranges.flatMap((r) => gpaRangeWords(r.gpa, r.pages)),
    })));
    return { units: new Map([['vmbus', connectedServer(channels, gpadls)]]), init };
  },
  down: (produced, init) => {
    const s = produced.get('vmbus') as VmbusState | undefined;
    const fail = (what: string): never => { throw new HclError('STATE_GENERATION', `vmbus: generation 3 cannot express ${what}`); };
    const gpadls = s?.server.state.gpadls ?? [];
    const channels = (s?.server.state.channels ?? []).map((c, i): ChannelV3 => {
      const kind = KINDS.find(([, id]) => id === c.key.interfaceId)?.[0] ?? fail(`channels[${i}]: interface id ${c.key.interfaceId}`);
      if (c.key.subchannelIndex !== 0) fail(`channels[${i}]: subchannel ${c.key.subchannelIndex}`);
      const o = c.state.open;
      const mine = gpadls.filter((g) => g.channelId === c.channelId);
      const ring = o === undefined ? undefined : mine.find((g) => g.id === o.params.ringBufferGpadlId);
      if (o !== undefined && (ring === undefined || gpadlPages(ring).length !== 2 * o.params.downstreamRingBufferPageOffset)) fail(`channels[${i}]: rings not in two equal halves of their gpadl`);
      return {
        offerId: c.channelId, instanceId: c.key.instanceId, kind, open: o !== undefined, targetVp: o?.params.targetVp ?? 0,
        monitorId: c.monitorId ?? NO_MONITOR, gpadls: mine.map((g) => ({ id: g.id, ranges: rangesOf(g) })),
        ringGpadlId: o?.params.ringBufferGpadlId ?? 0, ringSize: o === undefined ? 0 : (o.params.downstreamRingBufferPageOffset - 1) * PAGE,
        in: zero(), out: zero(),
      };
    });
    return { units: new Map([[RETIRED, { channels }]]), init };
  },
};

