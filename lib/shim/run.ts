import { HclError, isHclError } from '../errors.ts';
import type { Topology } from '../config/index.ts';
import { readFdt } from '../fdt/index.ts';
import type { GuestMemory } from '../memory/index.ts';
import {
  encodeSidecarParams, decodeSidecarOutput, type SidecarEntry, type SidecarOutput, type SidecarParams, writeHandoff, HEAP_LAYOUT, ISOLATION_NAMES,
  PARAM_REGION_PAGES, SHIM_PARAMS_OFFSET, SHIM_PARAMS_SIZE, decodeCommandLinePage, decodeShimParams,
  type Region, type PersistedPayload, type PersistedPlacement, decodeSlit,
} from '../abi/index.ts';
import type { Plant } from '../plant.ts';
import { buildKernelCommandLine, hostIsTrusted, parseShimOptions, userCommandLine } from './cmdline.ts';
import { parseHostDt, type HostDt } from './hostdt.ts';
import { buildKernelDt, splitMemoryMap, type Arm64CpuStatus } from './kerneldt.ts';
import {
  MEMORY_VTL_TYPE, decideMmio, decideVtl2Ram, partitionMemory, partitionMmio, shimTopology, type Vtl2Range,
} from './partition.ts';
import { freshPlacement, readPersisted, topologyFromPersisted } from './restore.ts';
import { planSidecar, type SidecarNodePlan } from './sidecarplan.ts';

/** What the shim stage produced. */
export interface ShimResult {
  handoffGpa: bigint;
  cmdline: string;
  /** CPUs that boot Linux (all VPs when sidecar is off). */
  bootCpus: number[];
  sidecar: { nodes: SidecarNodePlan[]; params: SidecarParams; output: SidecarOutput } | undefined;
  restored: boolean;
  topology: Topology;
  dtb: Uint8Array;
  log: string[];
}

/** Shim options the model adds (not in OpenHCL). */
export interface RunShimOptions {
  arch: 'x86_64' | 'aarch64';
  arm64CpuStatus: Arm64CpuStatus;
  /** The loaded sidecar image's entry point; the pipeline binds it (the shim never imports the sidecar). */
  enterSidecar: SidecarEntry | undefined;
  /**
   * What the hypervisor reports when the parameters say VBS, which packages write for both no
   * isolation and VBS (the real shim queries it at run time). Default 'none'.
   */
  hypervisorIsolation: 'none' | 'vbs';
  /** A defect a test plants (lib/plant.ts); never set in production. */
  plant: Plant | undefined;
}

const PAGE = 0x1000n;

/**
 * Runs openhcl_boot over guest memory: shim parameters at shimBase + SHIM_PARAMS_OFFSET, the
 * host DTB and SLIT from the parameter region, the static command line page and the persisted
 * header; writes the kernel DTB, command line, sidecar pages and the handoff record.
 */
export function runShim(memory: GuestMemory, shimBase: bigint, options: Partial<RunShimOptions> = {}): ShimResult {
  const o: RunShimOptions = { arch: 'x86_64', arm64CpuStatus: 'okay', enterSidecar: undefined, hypervisorIsolation: 'none', plant: undefined, ...options };
  const log: string[] = [];
  const p = decodeShimParams(memory.read(shimBase + BigInt(SHIM_PARAMS_OFFSET), SHIM_PARAMS_SIZE));
  const at = (off: bigint, size: bigint): Region => ({ gpa: shimBase + off, size });
  const paramRegion = at(p.parameterRegionOffset, p.parameterRegionSize);
  const page = (n: number): bigint => paramRegion.gpa + BigInt(n) * PAGE;
  const isolation = p.supportedIsolationType === 1 ? o.hypervisorIsolation : ISOLATION_NAMES[p.supportedIsolationType];
  const host = readHost(memory, page(PARAM_REGION_PAGES.deviceTree.first), PARAM_REGION_PAGES.deviceTree.count * 4096, o.plant);
  for (const w of host.warnings) log.push(`host device tree: ${w}`);
  const distances = decodeSlit(memory.read(page(PARAM_REGION_PAGES.slit.first), PARAM_REGION_PAGES.slit.count * 4096));
  const staticPage = decodeCommandLinePage(memory.read(shimBase + p.cmdlineOffset, 4096));
  const persistedRegion = at(p.persistedStateRegionOffset, p.persistedStateRegionSize);
  // The real shim reads the header only without isolation (`read_persisted_region_header`).
  const saved = isolation === 'none' ? readPersisted(memory, persistedRegion) : undefined;

  const measured = at(p.memoryStartOffset, p.memorySize);
  let vtl2Ram: Vtl2Range[];
  let mmio: { vtl0: Region[]; vtl2: Region[] };
  let placement: PersistedPlacement;
  let gpaPool: Region[] = [];
  let sidecarExcluded: number[] = [];
  if (saved === undefined) {
    vtl2Ram = decideVtl2Ram(host, measured);
    mmio = decideMmio(host, isolation !== 'none');
    placement = freshPlacement(persistedRegion);
  } else {
    // VTL0 RAM and CPUs come from the host as they are; VTL2 RAM, MMIO and the pool from the saved state.
    const hostMode = host.allocationMode === 'host';
    const hostVtl2 = hostMode ? partitionMemory(host, decideVtl2Ram(host, measured)).filter((m) => m.vtlType === MEMORY_VTL_TYPE.VTL2_RAM) : [];
    const t = topologyFromPersisted(saved.payload, saved.protobuf, hostMode, hostVtl2);
    ({ vtl2Ram, mmio, placement, gpaPool } = t);
    sidecarExcluded = t.sidecarExcludedCpus;
    log.push(`restore: persisted state found at 0x${persistedRegion.gpa.toString(16)}${hostMode ? ', vtl2 ram matches the host' : ''}`);
  }
  const current: Pick<PersistedPayload, 'partitionMemory' | 'partitionMmio'> = { partitionMemory: partitionMemory(host, vtl2Ram), partitionMmio: partitionMmio(mmio) };

  const trusted = hostIsTrusted(isolation, staticPage.line);
  const user = userCommandLine(staticPage, host.bootargs, trusted, o.plant);
  const opts = parseShimOptions(user);
  const used = at(p.usedStart, p.usedEnd - p.usedStart);
  const sidecarImage = at(p.sidecarOffset, p.sidecarSize);
  const plan = planSidecar({
    arch: o.arch, isolated: isolation !== 'none', hasImage: sidecarImage.size > 0n, mode: opts.sidecar,
    vpVnodes: host.cpus.map((c) => c.vnode), free: freeRam(vtl2Ram, used), restoring: saved !== undefined,
    restoreLinuxCpus: sidecarExcluded,
    plant: o.plant,
  });
  log.push(plan.active ? `sidecar: ${plan.nodes.length} nodes, boot_cpus=${plan.bootCpus.join(',')}` : `sidecar: off (${plan.reason})`);

  const heap = shimBase + p.heapStartOffset;
  let sidecar: ShimResult['sidecar'];
  if (plan.active) {
    const params: SidecarParams = {
      hypercallPage: 0n, enableLogging: plan.logging, initialState: plan.perCpuState,
      nodes: plan.nodes.map((n) => ({ memoryBase: n.memory.gpa, memorySize: n.memory.size, baseVp: n.baseVp, vpCount: n.vpCount })),
    };
    const paramsGpa = heap + BigInt(HEAP_LAYOUT.sidecarParams);
    memory.write(paramsGpa, encodeSidecarParams(params));
    if (o.enterSidecar === undefined) throw new TypeError('runShim: the sidecar plan is active but no sidecar entry point was given');
    const outputGpa = heap + BigInt(HEAP_LAYOUT.sidecarOutput);
    o.enterSidecar(memory, paramsGpa, outputGpa);
    // The shim knows what the sidecar started only from the output page it wrote.
    sidecar = { nodes: plan.nodes, params, output: decodeSidecarOutput(memory.read(outputGpa, 4096), params.nodes.length) };
  }

  const cmdline = buildKernelCommandLine({
    arch: o.arch, isolation, trusted, user, vmbusConnectionId: host.vmbusVtl2.connectionId, com3: host.com3,
    confidentialDebug: opts.confidentialDebug,
    keepAlive: { disabled: opts.disableNvmeKeepAlive, host: host.nvmeKeepAlive, privatePool: hasGpaPool(isolation, opts.gpaPoolConfig) },
    bootCpus: plan.active ? plan.bootCpus : undefined,
  });

  // The host DT pages are reclaimed as VTL2 RAM once parsed (host_params/dt topology_from_host_dt
  // subtract_ranges): VTL2_CONFIG is the rest of the parameter region.
  const dtPages = { gpa: page(PARAM_REGION_PAGES.deviceTree.first), size: BigInt(PARAM_REGION_PAGES.deviceTree.count) * PAGE };
  const config = [at(p.cmdlineOffset, PAGE), { gpa: paramRegion.gpa, size: dtPages.gpa - paramRegion.gpa }, { gpa: dtPages.gpa + dtPages.size, size: paramRegion.gpa + paramRegion.size - dtPages.gpa - dtPages.size }];
  const carve = [
    ...config.map((r) => ({ ...r, type: MEMORY_VTL_TYPE.VTL2_CONFIG })),
    { ...at(p.vtl2ReservedRegionOffset, p.vtl2ReservedRegionSize), type: MEMORY_VTL_TYPE.VTL2_RESERVED },
    { ...placement.header, type: MEMORY_VTL_TYPE.VTL2_PERSISTED_STATE_HEADER },
    { ...placement.protobuf, type: MEMORY_VTL_TYPE.VTL2_PERSISTED_STATE_PROTOBUF },
    ...gpaPool.map((r) => ({ ...r, type: MEMORY_VTL_TYPE.VTL2_GPA_POOL })),
    { ...at(p.logBufferStart, p.logBufferSize), type: MEMORY_VTL_TYPE.VTL2_BOOTSHIM_LOG_BUFFER },
    ...(plan.active ? [{ ...sidecarImage, type: MEMORY_VTL_TYPE.VTL2_SIDECAR_IMAGE }, ...plan.nodes.map((n) => ({ ...n.memory, type: MEMORY_VTL_TYPE.VTL2_SIDECAR_NODE }))] : []),
  ].filter((c) => c.size > 0n);
  const initrd = at(p.initrdOffset, p.initrdSize);
  const dtb = buildKernelDt({
    arch: o.arch, isolation, allocationMode: host.allocationMode, cpus: host.cpus, vtl2Ram,
    memoryMap: splitMemoryMap(current.partitionMemory, carve), mmio: current.partitionMmio,
    vmbusVtl2: { connectionId: host.vmbusVtl2.connectionId, mmio: mmio.vtl2 },
    sidecarNodes: sidecar?.output.nodes ?? [], cmdline, initrd, reservations: carve,
    platform: host, arm64CpuStatus: o.arm64CpuStatus,
    ...(host.entropy !== undefined ? { entropy: host.entropy } : {}),
    ...(host.vtl0AliasMap !== undefined ? { vtl0AliasMap: host.vtl0AliasMap } : {}),
    ...(distances !== undefined ? { distances } : {}),
  });
  const cmdBytes = new TextEncoder().encode(cmdline);
  memory.write(heap + BigInt(HEAP_LAYOUT.cmdline), cmdBytes);
  memory.write(heap + BigInt(HEAP_LAYOUT.dtb), dtb);
  const handoffGpa = heap + BigInt(HEAP_LAYOUT.handoff);
  writeHandoff(memory, handoffGpa, {
    dtbGpa: heap + BigInt(HEAP_LAYOUT.dtb), dtbSize: dtb.length,
    cmdlineGpa: heap + BigInt(HEAP_LAYOUT.cmdline), cmdlineSize: cmdBytes.length,
    initrdGpa: initrd.gpa, initrdSize: Number(initrd.size),
    sidecarParamsGpa: sidecar === undefined ? 0n : heap + BigInt(HEAP_LAYOUT.sidecarParams),
  });
  log.push(`kernel dtb: ${dtb.length} bytes, cmdline ${cmdBytes.length} bytes`);
  return {
    handoffGpa, cmdline, dtb, log, restored: saved !== undefined, sidecar,
    bootCpus: plan.active ? plan.bootCpus : host.cpus.map((_, vp) => vp),
    topology: shimTopology(o.arch, current, host.cpus, vtl2Ram),
  };
}

/**
 * Whether the real shim would reserve a VTL2 GPA pool (`pick_private_pool_size`): only when not
 * isolated and OPENHCL_IGVM_VTL2_GPA_POOL_CONFIG is not off (a 0 or unparsable count means off).
 * The model reserves no pool; this only decides the keep-alive word the kernel line carries.
 */
function hasGpaPool(isolation: string, config: string | undefined): boolean {
  if (isolation !== 'none') return false;
  if (config === undefined || config === 'release' || config === 'debug') return true;
  return config !== 'off' && /^[0-9]+$/.test(config) && BigInt(config) > 0n;
}

function readHost(memory: GuestMemory, gpa: bigint, size: number, plant: Plant | undefined): HostDt {
  try {
    return parseHostDt(readFdt(memory.read(gpa, size)), plant);
  } catch (e) {
    if (isHclError(e) && e.code.startsWith('FDT_')) {
      throw new HclError('SHIM_HOST_DT_INVALID', `host device tree at 0x${gpa.toString(16)}: ${e.message}`, { cause: e });
    }
    throw e;
  }
}

// VTL2 RAM not taken by the loaded image: what sidecar node memory may come from.
function freeRam(ram: Vtl2Range[], used: Region): Vtl2Range[] {
  const out: Vtl2Range[] = [];
  for (const r of ram) {
    const end = r.gpa + r.size;
    const uEnd = used.gpa + used.size;
    if (uEnd <= r.gpa || used.gpa >= end) { out.push({ ...r }); continue; }
    if (used.gpa > r.gpa) out.push({ gpa: r.gpa, size: used.gpa - r.gpa, vnode: r.vnode });
    if (uEnd < end) out.push({ gpa: uEnd, size: end - uEnd, vnode: r.vnode });
  }
  return out;
}
