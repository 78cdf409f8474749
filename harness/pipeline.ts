import type { VmConfig } from '../lib/config/index.ts';
import { sha256Hex } from '../lib/bytes/index.ts';
import { HclError } from '../lib/errors.ts';
import type { Plant } from '../lib/plant.ts';
import { checkTopology, discover, type Discovered, createUnits, type HclUnits } from '../lib/hcl/index.ts';
import { buildPackage, hostParamsFor, loadIgvm, packageOptionsFor, type LoadedIgvm } from '../lib/host/index.ts';
import { HvPartition, registerByCode } from '../lib/hv/index.ts';
import { bootKernel, type Kernel } from '../lib/kernel/index.ts';
import { runShim, type ShimResult } from '../lib/shim/index.ts';
import {
  SHIM_PARAMS_OFFSET, SHIM_PARAMS_SIZE, decodeShimParams, persistedPlacement, withPersistedRanges, writePersistedState, type PersistedPart,
  type Region,
} from '../lib/abi/index.ts';
import { SidecarDispatcher, SimpleVpBackend, enterSidecar, type VpBackend } from '../lib/sidecar/index.ts';
import { defaultRegistry } from '../lib/snapshot/index.ts';
import { ServicingController } from '../lib/state/index.ts';

/**
 * The boot pipeline, and the only place that knows the order of the stages:
 * host (IGVM package, host DT) → loader (guest memory) → shim (kernel DT, sidecar split) →
 * kernel (ProcFs) → openvmm_hcl (discovery, units). Each stage reads only the bytes the previous
 * one left in guest memory or the ProcFs.
 */

/** One stage's timing and the bytes it consumed and produced. */
export interface StageRecord {
  name: 'host' | 'loader' | 'shim' | 'kernel' | 'hcl';
  ms: number;
  bytesIn: number;
  bytesOut: number;
}

/** How to boot: the IGVM to load (default: built from the config) and, on restore, the shim's saved topology. */
export interface BootOptions {
  /** IGVM package bytes; default: `buildPackage` for the config. */
  igvm: Uint8Array;
  /** Usermode version for a package built here. */
  usermodeVersion: string;
  /**
   * Shim persisted state, placed in the persisted-state region before the shim runs (servicing
   * restore: in OpenHCL it stays in VTL2 memory from the previous instance).
   */
  persisted: PersistedPart;
  /** A defect a test plants along the boot and every later save (lib/plant.ts); never set by the CLI. */
  plant: Plant | undefined;
}

/** A booted VM: every stage's output and the running paravisor. */
export interface Vm {
  config: VmConfig;
  igvm: Uint8Array;
  /** sha256 hex of the IGVM file. */
  igvmDigest: string;
  loaded: LoadedIgvm;
  shim: ShimResult;
  kernel: Kernel;
  discovered: Discovered;
  /** The version the running openvmm_hcl binary (from the initrd) reports. */
  usermodeVersion: string;
  units: HclUnits;
  hv: HvPartition;
  servicing: ServicingController;
  /** The sidecar kernel's per-CPU dispatch, or undefined when sidecar is not running. */
  sidecar: SidecarDispatcher | undefined;
  stages: StageRecord[];
  /** The defect a test planted at boot, carried to this VM's saves; undefined in production. */
  plant: Plant | undefined;
}

function timed<T>(stages: StageRecord[], name: StageRecord['name'], bytesIn: number, run: () => T, bytesOut: (t: T) => number): T {
  const start = performance.now();
  const out = run();
  stages.push({ name, ms: performance.now() - start, bytesIn, bytesOut: bytesOut(out) });
  return out;
}

/** The persisted-state region, as the shim parameters inside the loaded shim image place it. */
export function persistedRegion(loaded: LoadedIgvm): Region {
  const p = decodeShimParams(loaded.memory.read(loaded.shimBase + BigInt(SHIM_PARAMS_OFFSET), SHIM_PARAMS_SIZE));
  return { gpa: loaded.shimBase + p.persistedStateRegionOffset, size: p.persistedStateRegionSize };
}

/** The usermode version string that `/bin/openvmm_hcl` in the initrd carries. */
function usermodeVersionOf(kernel: Kernel): string {
  const bin = kernel.initrd.get('bin/openvmm_hcl');
  const m = bin === undefined ? null : /version=([^\n]+)/.exec(new TextDecoder().decode(bin));
  if (m?.[1] === undefined) throw new HclError('KERNEL_INITRD_INVALID', 'initrd: /bin/openvmm_hcl is missing or carries no version');
  return m[1];
}

/** Boots `config` through every stage. */
export function boot(config: VmConfig, options: Partial<BootOptions> = {}): Vm {
  const stages: StageRecord[] = [];
  const host = timed(stages, 'host', 0, () => ({
    igvm: options.igvm ?? buildPackage(packageOptionsFor(config, options.usermodeVersion)),
    params: hostParamsFor(config),
  }), (h) => h.igvm.length + h.params.hostDtb.length);

  const loaded = timed(stages, 'loader', host.igvm.length + host.params.hostDtb.length, () => {
    const l = loadIgvm(host.igvm, host.params);
    const at = options.persisted === undefined ? undefined : persistedPlacement(persistedRegion(l));
    // A region too small for the shim's sizing gets nothing: the shim then panics as a fresh boot would.
    if (options.persisted !== undefined && at !== undefined) {
      const { payload, legacy } = options.persisted;
      writePersistedState(l.memory, at, legacy ? withPersistedRanges(payload, at) : payload);
    }
    return l;
  }, (l) => l.memory.pageCount * 4096);

  const shim = timed(stages, 'shim', loaded.memory.pageCount * 4096, () => runShim(loaded.memory, loaded.shimBase, { arch: config.arch, enterSidecar, hypervisorIsolation: config.isolation === 'vbs' ? 'vbs' : 'none', plant: options.plant }), (s) => s.dtb.length + s.cmdline.length);

  const kernel = timed(stages, 'kernel', shim.dtb.length + shim.cmdline.length, () => bootKernel(loaded.memory, shim.handoffGpa, { arch: config.arch }), (k) => k.fdt.root.children.length);

  const hcl = timed(stages, 'hcl', shim.dtb.length, () => {
    const discovered = discover(kernel.procfs, kernel.env);
    checkTopology(discovered.topology);
    // The devices reach openvmm_hcl from the host as VTL2 settings (GET in OpenHCL): bytes, not objects.
    const devices = JSON.parse(JSON.stringify(config.devices)) as VmConfig['devices'];
    const units = createUnits({ topology: discovered.topology, devices, plant: options.plant });
    const linux = new Set(kernel.online());
    for (const v of discovered.topology.vps) if (!linux.has(v.index)) units.partition.assignSidecar(v.index);
    const hv = new HvPartition(discovered.topology);
    return { discovered, units, hv, servicing: new ServicingController(units.all, defaultRegistry()), usermodeVersion: usermodeVersionOf(kernel) };
  }, () => 0);

  const sidecar = shim.sidecar === undefined ? undefined : new SidecarDispatcher(loaded.memory, shim.sidecar.params, shim.sidecar.output, hvBackend(hcl.hv));
  return {
    config, igvm: host.igvm, igvmDigest: sha256Hex(host.igvm), loaded, shim, kernel, sidecar, stages, plant: options.plant, ...hcl,
  };
}

/**
 * The hypervisor behind the sidecar's register commands: GET/SET_VP_REGISTERS read and write
 * the partition's registers by hvdef code, so they reach `hv.save()`. Running a VP and
 * translating a GVA stay the simple model's (halt intercept, identity map).
 */
function hvBackend(hv: HvPartition): VpBackend {
  const simple = new SimpleVpBackend();
  const name = (vp: number, code: number): string => {
    const n = registerByCode(hv.topology.arch, code);
    if (n === undefined) throw new HclError('HV_INVALID', `hv: vp ${vp}: no ${hv.topology.arch} register with code 0x${code.toString(16)}`);
    return n;
  };
  return {
    run: (vp) => simple.run(vp),
    translateGva: (vp, gva) => simple.translateGva(vp, gva),
    getRegisters: (vp, codes) => codes.map((c) => hv.getRegister(vp, name(vp, c))),
    setRegisters: (vp, regs) => {
      // Every name is resolved before the first write, so a bad code changes nothing.
      const named = regs.map(([c, v]) => [name(vp, c), v] as const);
      for (const [n, v] of named) hv.setRegister(vp, n, v);
    },
  };
}

/**
 * Hands one sidecar CPU to Linux, as OpenHCL does when a VP needs the Linux kernel: the sidecar
 * tears the CPU down (REMOVE → REMOVED in its control page), the kernel onlines it, and
 * openvmm_hcl's `partition` unit records the new role. One way, one CPU at a time.
 */
export function onlineSidecarCpu(vm: Vm, vp: number): void {
  if (vm.sidecar === undefined) throw new HclError('SIDECAR_BAD_STATE', `sidecar: not running, vp ${vp} is already in Linux`);
  vm.kernel.onlineCpu(vm.sidecar.removeCpu(vp));
  vm.units.partition.convertToLinux(vp);
}
