import { presetConfig } from '../lib/config/index.ts';
import { HclError } from '../lib/errors.ts';
import type { SnapshotStore } from '../lib/store/index.ts';
import { restoreSnapshot, saveVm, bootWithWorkload } from './servicing.ts';
import { runWorkload } from './workload.ts';

/**
 * The README's main job in one call: boot the `numa` preset, run a workload, save, restore with a
 * changed host command line, run more, save again, verify the store. Each step reports a line;
 * a failed proof or verify is a failed check (exit 1).
 */
export async function runDemo(store: SnapshotStore, say: (line: string) => void, preset = 'numa'): Promise<{ first: string; second: string }> {
  const config = presetConfig(preset);
  let t = performance.now();
  const ms = () => {
    const d = performance.now() - t;
    t = performance.now();
    return `${d.toFixed(0)} ms`;
  };
  const vm = bootWithWorkload(config, { seed: 1, steps: 500 });
  say(`1. booted ${config.name}: ${vm.discovered.topology.vps.length} VPs on ${vm.discovered.topology.nodes.length} nodes, ${vm.kernel.online().length} in Linux, the rest in sidecar; usermode ${vm.usermodeVersion}; ran 500 workload steps (${ms()})`);
  const first = await saveVm(vm, store, { workload: { seed: 1, steps: 500 } });
  say(`2. saved ${first.name}@${first.seq} ${first.id.slice(0, 12)}: ${first.units.length} units, ${first.bytes} bytes, ${first.newBytes} new (${ms()})`);
  const host = `${config.cmdline.host} demo.step=3`.trim();
  const r = await restoreSnapshot(store, first.id, { sets: [`cmdline.host=${host}`] });
  const cmdline = new TextDecoder().decode(r.vm.kernel.procfs.read('/proc/cmdline')).trimEnd();
  say(`3. restored with cmdline.host="${host}": ${r.topologyConsistent ? 'consistent with the host' : 'INCONSISTENT with the host'}, proof ${r.proof.ok ? 'ok' : 'FAILED'} over ${r.proof.units} units; /proc/cmdline ends "…${cmdline.slice(-40)}" (${ms()})`);
  if (!r.proof.ok) throw new HclError('RESTORE_PROOF_FAILED', `demo: restore proof failed: ${r.proof.differences.map((d) => `${d.unit}.${d.path}`).join(', ')}`);
  if (!cmdline.endsWith(host)) throw new HclError('CHECK_FAILED', 'demo: the restored kernel did not get the new host command line');
  runWorkload(r.vm.units, r.vm.hv, { seed: 2, steps: 50 });
  say(`4. ran 50 more workload steps on the restored VM (${ms()})`);
  const second = await saveVm(r.vm, store, { parent: first.id, workload: { seed: 2, steps: 50 }, overrides: r.overrides });
  say(`5. saved ${second.name}@${second.seq} ${second.id.slice(0, 12)}: ${second.bytes} bytes, only ${second.newBytes} new — unchanged units are stored once (${ms()})`);
  const v = await store.verify();
  say(`6. verify: ${v.snapshots} snapshots, ${v.blobs} blobs, ${v.problems.length} problems (${ms()})`);
  if (v.problems.length > 0) throw new HclError('STORE_CORRUPT', `demo: verify found ${v.problems.length} problems`);
  return { first: first.id, second: second.id };
}
