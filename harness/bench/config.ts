import { sha256Hex } from '../../lib/bytes/index.ts';
import { presetConfig, validateConfig, type VmConfig } from '../../lib/config/index.ts';
import { HclError } from '../../lib/errors.ts';

/**
 * Bench configurations: the `large` preset (64 nodes × 32 VPs, 2 GiB per node) cut down to
 * `vps` VPs on the fewest whole nodes, with the devices scaled along (NVMe controllers, queues and
 * VMBus channels grow with the VP count), so every VP count runs the same kind of VM.
 */

/** VPs per NUMA node in the `large` preset the bench configs are cut from. */
export const BENCH_VPS_PER_NODE = 32;

const CHANNEL_KINDS = ['storvsc', 'netvsc', 'hvsock', 'vpci', 'keyboard', 'framebuffer'] as const;

/** A stable UUID-shaped id from `seed`, so bench configs (and their snapshot bytes) are deterministic. */
function uuidOf(seed: string): string {
  const h = sha256Hex(new TextEncoder().encode(seed));
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** A valid VmConfig with `vps` VPs (1..2048) and devices scaled with it; CONFIG_INVALID if it does not validate. */
export function scaledConfig(vps: number): VmConfig {
  if (!Number.isInteger(vps) || vps < 1 || vps > 2048) throw new HclError('USAGE', `bench: vp count ${vps} is not an integer in 1..2048`);
  const base = presetConfig('large');
  const nodes = Math.ceil(vps / BENCH_VPS_PER_NODE);
  const name = `bench-${vps}`;
  const config: VmConfig = {
    ...base,
    name,
    vps: base.vps.slice(0, vps),
    numa: base.numa.slice(0, nodes),
    // One socket's worth of VPs runs without sidecar, as the small preset does.
    sidecar: vps <= 4 ? 'off' : base.sidecar,
    devices: {
      nvme: Array.from({ length: Math.max(1, Math.round(vps / 512)) }, (_, i) => ({
        id: `nvme${i}`,
        ioQueues: Math.min(vps, 2048),
        queueDepth: vps > 256 ? 1024 : 256,
        namespaces: [{ nsid: 1, blocks: 0x20_0000, blockSize: 4096 as const }],
      })),
      serial: base.devices.serial.map((s) => ({ ...s })),
      channels: Array.from({ length: Math.max(3, Math.ceil(vps / 32)) }, (_, i) => {
        const kind = CHANNEL_KINDS[i % CHANNEL_KINDS.length] as (typeof CHANNEL_KINDS)[number];
        return { kind, instanceId: uuidOf(`${name}/${kind}/${i}`) };
      }),
    },
  };
  if (base.distances !== undefined) config.distances = base.distances.slice(0, nodes).map((row) => row.slice(0, nodes));
  else delete config.distances;
  return validateConfig(config, `bench config for ${vps} vps`);
}
