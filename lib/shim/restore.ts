import { HclError, isHclError } from '../errors.ts';
import type { GuestMemory } from '../memory/index.ts';
import {
  MEMORY_VTL_TYPE, isVtl2RamType, persistedPlacement, readPersistedState, type PersistedPayload, type PersistedPlacement, type Region,
} from '../abi/index.ts';
import type { MemoryEntry, Vtl2Range } from './partition.ts';

/**
 * The shim's restore path, after openhcl_boot host_params/dt/mod.rs `topology_from_persisted_state`:
 * VTL2 RAM, MMIO, the GPA pool and the persisted region come from the persisted state; VTL0 RAM
 * and CPUs come from the host, unchecked. The one check is VTL2 RAM against the host's in host
 * allocation mode. Every failure here is an assert in OpenHCL — it panics — so each is SHIM_PANIC.
 */

/** What the shim takes from the persisted state. */
export interface PersistedTopology {
  vtl2Ram: Vtl2Range[];
  mmio: { vtl0: Region[]; vtl2: Region[] };
  gpaPool: Region[];
  placement: PersistedPlacement;
  /** CPUs that had NVMe interrupts mapped or I/O in flight at save: they start in Linux, sorted. */
  sidecarExcludedCpus: number[];
}

const hex = (n: bigint): string => `0x${n.toString(16)}`;

/** A SHIM_PANIC: the real shim asserts here, so OpenHCL would crash. */
export function shimPanic(why: string, cause?: unknown): HclError {
  return new HclError('SHIM_PANIC', `shim restore: OpenHCL would panic here: ${why}`, cause === undefined ? {} : { cause });
}

/** Reads the persisted header and payload; a damaged one is SHIM_PANIC (`expect`/`assert!` in the real shim). */
export function readPersisted(memory: GuestMemory, region: Region): { payload: PersistedPayload; protobuf: Region } | undefined {
  try {
    return readPersistedState(memory, region);
  } catch (e) {
    if (isHclError(e, 'SHIM_PERSISTED_STATE_INVALID')) throw shimPanic(e.message, e);
    throw e;
  }
}

/** Fresh boot: the first PERSISTED_STATE_PAGES pages of the region (`split_at_offset`, which panics on a smaller region). */
export function freshPlacement(region: Region): PersistedPlacement {
  const p = persistedPlacement(region);
  if (p === undefined) throw shimPanic(`persisted state region ${hex(region.gpa)}+${hex(region.size)} is smaller than the 20 pages the shim sizes it to`);
  return p;
}

/** Adjacent VTL2 RAM ranges with the same igvm type and vnode merged (`memory_range::merge_adjacent_ranges`). */
export function mergedVtl2Ram(p: PersistedPayload): MemoryEntry[] {
  const out: MemoryEntry[] = [];
  const ram = p.partitionMemory.filter((m) => isVtl2RamType(m.vtlType)).sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));
  for (const m of ram) {
    const last = out[out.length - 1];
    if (last !== undefined && last.base + last.size === m.base && last.igvmType === m.igvmType && last.vnode === m.vnode) last.size += m.size;
    else out.push({ base: m.base, size: m.size, vnode: m.vnode, igvmType: m.igvmType, vtlType: MEMORY_VTL_TYPE.VTL2_RAM });
  }
  return out;
}

const fmt = (m: MemoryEntry): string => `${hex(m.base)}+${hex(m.size)} vnode ${m.vnode} igvm-type ${m.igvmType}`;

/**
 * The topology the shim takes from `saved`. `hostVtl2Ram` is what the host offers now (its
 * VTL2 ranges with igvm type and vnode), compared only when `hostMode`.
 */
export function topologyFromPersisted(saved: PersistedPayload, protobuf: Region, hostMode: boolean, hostVtl2Ram: MemoryEntry[]): PersistedTopology {
  const ram = mergedVtl2Ram(saved);
  if (hostMode) {
    const a = ram.map(fmt);
    const b = hostVtl2Ram.map(fmt);
    if (a.join() !== b.join()) {
      throw shimPanic(`vtl2 ram from persisted state does not match host provided ram: saved [${a.join(', ')}], host [${b.join(', ')}]`);
    }
  }
  const one = (type: number, name: string): MemoryEntry => {
    const e = saved.partitionMemory.find((m) => m.vtlType === type);
    if (e === undefined) throw shimPanic(`persisted state ${name} missing from the saved partition memory`);
    return e;
  };
  const header = one(MEMORY_VTL_TYPE.VTL2_PERSISTED_STATE_HEADER, 'header');
  const body = one(MEMORY_VTL_TYPE.VTL2_PERSISTED_STATE_PROTOBUF, 'protobuf region');
  if (header.base + header.size !== protobuf.gpa) {
    throw shimPanic(`saved persisted header ends at ${hex(header.base + header.size)}, the header names its protobuf region at ${hex(protobuf.gpa)}`);
  }
  const ranges = (type: number): Region[] => saved.partitionMmio.filter((m) => m.vtlType === type).map((m) => ({ gpa: m.base, size: m.size }));
  return {
    vtl2Ram: ram.map((r) => ({ gpa: r.base, size: r.size, vnode: r.vnode })),
    mmio: { vtl0: ranges(MEMORY_VTL_TYPE.VTL0_MMIO), vtl2: ranges(MEMORY_VTL_TYPE.VTL2_MMIO) },
    gpaPool: saved.partitionMemory.filter((m) => m.vtlType === MEMORY_VTL_TYPE.VTL2_GPA_POOL).map((m) => ({ gpa: m.base, size: m.size })),
    placement: { header: { gpa: header.base, size: header.size }, protobuf: { gpa: body.base, size: body.size } },
    sidecarExcludedCpus: [...new Set([...saved.cpusWithOutstandingIo, ...saved.cpusWithMappedInterruptsNoIo])].sort((x, y) => x - y),
  };
}
