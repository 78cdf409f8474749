import fc from 'fast-check';
import { MemoryLevel } from 'memory-level';
import type { VmConfig } from '../lib/config/index.ts';
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

const isolated = (c: VmConfig): boolean => c.isolation !== 'none';

/** Which configs a property wants. */
export interface BootableOptions {
  /** Default `propMaxVps()`. */
  maxVps: number;
  arch: VmConfig['arch'];
  /** Only configs that can be serviced: OpenHCL refuses to save isolated VMs (VBS, SNP, TDX). */
  serviceable: boolean;
}

/** Valid configs of at most `maxVps` VPs (serviceable ones only, when asked). */
export function arbBootableConfig(opts: Partial<BootableOptions> = {}): fc.Arbitrary<VmConfig> {
  const arb = arbVmConfig({ maxVps: opts.maxVps ?? propMaxVps(), ...(opts.arch === undefined ? {} : { arch: opts.arch }) });
  return opts.serviceable === true ? arb.filter((c) => !isolated(c)) : arb;
}

/** A fresh snapshot store on memory-level. */
export function memoryStore(): Promise<SnapshotStore> {
  return SnapshotStore.open({ db: new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' }), dir: 'memory' });
}

/** Every manifest id in `store`, sorted: what "the store is unchanged" compares. */
export async function storeIds(store: SnapshotStore): Promise<string[]> {
  return (await store.list()).map((m) => m.id).sort();
}

