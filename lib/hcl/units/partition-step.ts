import { HclError } from '../../errors.ts';
import type { UnitSetStep, UnitStates } from '../../state/index.ts';
import type { PartitionState } from './partition.ts';
import type { SynicState } from './synic.ts';
import type { VpState } from './vp.ts';
import { VP_STRIDE, checkVp, decodeVp, encodeVp, resetVp, type VpNamed } from './vp-layout.ts';

/**
 * Generation 4 merges the `vp` and `synic` units of generations 1-3 into OpenHCL's `partition`
 * unit: one `{vp_index, data}` per VP whose data holds both (vp-layout.ts). `vp` named its
 * entries by index, `synic` by position; a VP one of them lacks takes the reset state, as the
 * older release's restore gave it. Going back, `synic` needs an entry for every position below
 * the highest VP, so a VP the partition state skips gets the reset SynIC there.
 */
export const PARTITION_STEP: UnitSetStep = {
  generation: 4,
  retires: ['vp', 'synic'],
  produces: ['partition'],
  why: 'OpenHCL keeps per-VP state in its partition unit: each VP is one {vp_index, data} whose data holds what vp and synic held',
  up(retired, init) {
    const vp = retired.get('vp') as VpState | undefined;
    const synic = retired.get('synic') as SynicState | undefined;
    const byIndex = new Map<number, VpNamed>();
    const entry = (i: number): VpNamed => {
      let e = byIndex.get(i);
      if (e === undefined) byIndex.set(i, (e = resetVp()));
      return e;
    };
    for (const { index, ...rest } of vp?.vps ?? []) {
      if (byIndex.has(index)) throw new HclError('HCL_DEVICE_INVALID', `partition: generation 3 unit vp holds vp ${index} twice`);
      entry(index).vp = rest;
    }
    synic?.vps.forEach((s, i) => { entry(i).synic = s; });
    const vps = [...byIndex.keys()].sort((a, b) => a - b).map((vpIndex) => {
      const data = new Uint8Array(VP_STRIDE);
      encodeVp(byIndex.get(vpIndex)!, data, 0, `partition: vp ${vpIndex} of generation 3`);
      return { vpIndex, data };
    });
    const state: PartitionState = { partition: new Uint8Array(0), vps };
    return { units: new Map([['partition', state]]), init };
  },
  down(produced, init) {
    const p = produced.get('partition') as PartitionState | undefined;
    const units: UnitStates = new Map();
    if (p === undefined) return { units, init };
    const named = new Map<number, VpNamed>();
    p.vps.forEach((e, i) => {
      checkVp(e.data, 0, `partition: vps[${i}].data`);
      named.set(e.vpIndex, decodeVp(e.data, 0));
    });
    const order = [...named.keys()].sort((a, b) => a - b);
    const vp: VpState = { vps: order.map((index) => ({ index, ...named.get(index)!.vp })) };
    const last = order.at(-1) ?? -1;
    const synic: SynicState = { vps: Array.from({ length: last + 1 }, (_, i) => (named.get(i) ?? resetVp()).synic) };
    units.set('vp', vp);
    units.set('synic', synic);
    return { units, init };
  },
};
