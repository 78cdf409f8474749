import fc from 'fast-check';
import { MemoryLevel } from 'memory-level';
import type { VmConfig } from '../lib/config/index.ts';
import { DEFAULT_VTL2_SIZE } from '../lib/shim/index.ts';
import { SnapshotStore } from '../lib/store/index.ts';
import { arbVmConfig } from './arbitraries.ts';

/**
 * Shared inputs of the pipeline properties: configs the pipeline is expected to boot, VP caps
 * by run size, and in-memory snapshot stores.
 */

/**
 * VP cap for pipeline properties: HCLCKPT_PROP_MAXVPS, else 64 (a boot costs ~25–100 ms at
 * that size), or 512 for long runs (HCLCKPT_PROP_RUNS above 250, as `npm run prop:long` sets).
 */
export function propMaxVps(): number {
  const n = Number(process.env['HCLCKPT_PROP_MAXVPS']);
  if (Number.isSafeInteger(n) && n >= 1) return Math.min(n, 2048);
  return Number(process.env['HCLCKPT_PROP_RUNS'] ?? 0) > 250 ? 512 : 64;
}

/**
 * Known gaps between `arbVmConfig` and the pipeline, each a bug reported to its owner; a config
 * that hits one is skipped (not hidden: `knownGap` says which). Remove an entry once fixed.
 */
const KNOWN_GAPS: Array<[string, (c: VmConfig) => boolean]> = [
  // The host writes boot_cpuid_phys as reg mod 2^32 (an FDT header field is 32-bit); the shim
  // compares it with the full 64-bit MPIDR, so aarch64 configs with Aff3 set never boot.
  ['aarch64 MPIDR with Aff3 set: boot_cpuid_phys cannot match', (c) => (c.vps[0]?.reg ?? 0) >= 2 ** 32],
  // validateConfig accepts VTL2 RAM from 16 MiB, but a non-isolated package is built for 64 MiB
  // and the loader refuses a smaller host range (IGVM_LOAD_INVALID).
  ['vtl2.size below the package REQUIRED_MEMORY', (c) => !isolated(c) && c.vtl2.size < Number(DEFAULT_VTL2_SIZE)],
  // In vtl2 allocation mode the host DT carries no vnode for VTL2 RAM; the shim takes the vnode
  // of the last RAM range below it, while topologyFromConfig reports config.vtl2.vnode.
  ['vtl2 mode: vtl2.vnode is not the vnode the shim infers', (c) => c.vtl2.mode === 'vtl2' && c.vtl2.vnode !== vnodeBelow(c, c.vtl2.base)],
];

const isolated = (c: VmConfig): boolean => c.isolation === 'snp' || c.isolation === 'tdx';

/** The vnode of the last RAM range starting at or below `gpa` (0 when none). */
function vnodeBelow(c: VmConfig, gpa: number): number {
  const ranges = c.numa.flatMap((n, vnode) => n.memory.map((m) => ({ base: m.base, vnode }))).sort((a, b) => a.base - b.base);
  let vnode = 0;
  for (const r of ranges) if (r.base <= gpa) vnode = r.vnode;
  return vnode;
}

/** Names of the known config gaps. */
export const KNOWN_GAP_NAMES: readonly string[] = KNOWN_GAPS.map(([name]) => name);

/** The known gap `config` hits, or null. */
export function knownGap(config: VmConfig): string | null {
  return KNOWN_GAPS.find(([, hit]) => hit(config))?.[0] ?? null;
}

/** Which configs a property wants. */
export interface BootableOptions {
  /** Default `propMaxVps()`. */
  maxVps: number;
  arch: VmConfig['arch'];
  /** Only configs that can be serviced: OpenHCL refuses to save hardware-isolated (SNP, TDX) VMs. */
  serviceable: boolean;
}

/** Valid configs of at most `maxVps` VPs that avoid the known gaps. */
export function arbBootableConfig(opts: Partial<BootableOptions> = {}): fc.Arbitrary<VmConfig> {
  const arb = arbVmConfig({ maxVps: opts.maxVps ?? propMaxVps(), ...(opts.arch === undefined ? {} : { arch: opts.arch }) });
  return arb.filter((c) => knownGap(c) === null && !(opts.serviceable === true && isolated(c)));
}

/** A fresh snapshot store on memory-level. */
export function memoryStore(): Promise<SnapshotStore> {
  return SnapshotStore.open({ db: new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' }), dir: 'memory' });
}

/** Every manifest id in `store`, sorted: what "the store is unchanged" compares. */
export async function storeIds(store: SnapshotStore): Promise<string[]> {
  return (await store.list()).map((m) => m.id).sort();
}

/**
 * Known gaps in restore overrides, reported to their owners; properties skip overrides on these
 * paths, and properties/pipeline.test.ts checks that each still reproduces (remove when fixed).
 */
export const KNOWN_OVERRIDE_GAPS: Array<[RegExp, string, (c: VmConfig) => boolean]> = [
  // The static command line and its policy live in the IGVM; restore reuses the saved IGVM, so
  // the override is recorded in the config but never reaches the shim.
  [/^cmdline\.(static|policy)$/, 'static cmdline / policy override is recorded but the saved IGVM still carries the old one', () => true],
  // vtl2 allocation mode: the shim takes the saved memory map (RAM and MMIO) as the truth and
  // openvmm_hcl discovers that map, so a changed range is silently ignored instead of refused.
  [/^(numa\[|mmio\.)/, 'vtl2 mode: a RAM or MMIO range change is ignored on restore instead of TOPOLOGY_MISMATCH', (c) => c.vtl2.mode === 'vtl2'],
];

/** The known gap an override of `path` on `config` hits, or null. */
export function knownOverrideGap(path: string, config: VmConfig): string | null {
  return KNOWN_OVERRIDE_GAPS.find(([re, , applies]) => re.test(path) && applies(config))?.[1] ?? null;
}
