import { join } from 'node:path';
import type { VmConfig } from '../../lib/config/index.ts';
import { canonicalJson, viewSnapshot, withHexFields } from '../../lib/diff/index.ts';
import { HclError } from '../../lib/errors.ts';
import { printDts, readFdt } from '../../lib/fdt/index.ts';
import type { ProcFs } from '../../lib/abi/index.ts';
import { formatCpuList } from '../../lib/kernel/index.ts';
import { hostDtb } from '../../lib/host/index.ts';
import type { SnapshotStore } from '../../lib/store/index.ts';
import type { Vm } from '../pipeline.ts';
import { restoreSnapshot, saveVm, bootWithWorkload, type RestoreOptions, type ProofDifference, type RestoreOutcome } from '../servicing.ts';
import type { Inconsistency } from '../oracle.ts';
import { parseWorkload, runWorkload } from '../workload.ts';

/**
 * What the VM commands print: boot reports, restore results, cycle records, decoded snapshots.
 * Pure functions over harness results, so the CLI file stays argument handling only.
 */

/** `boot --json`: topology, command line, boot CPUs and per-stage figures. */
export function bootReport(vm: Vm) {
  const t = vm.discovered.topology;
  return {
    topology: { arch: t.arch, vps: t.vps, nodes: t.nodes, vtl0Mmio: t.vtl0Mmio, vtl2Mmio: t.vtl2Mmio, vtl2Ram: t.vtl2Ram },
    cmdline: vm.discovered.cmdline,
    bootCpus: vm.kernel.online(),
    sidecarVps: t.vps.map((v) => v.index).filter((i) => !vm.kernel.online().includes(i)),
    usermodeVersion: vm.usermodeVersion,
    measurement: vm.loaded.measurement,
    stages: vm.stages.map((s) => ({ ...s, ms: Math.round(s.ms * 1000) / 1000 })),
  };
}

/** Every file of a ProcFs, depth first, as [path, bytes]. */
function* walk(fs: ProcFs, dir: string): Generator<[string, Uint8Array]> {
  for (const name of fs.list(dir)) {
    const path = dir === '/' ? `/${name}` : `${dir}/${name}`;
    let isDir = true;
    try {
      fs.list(path);
    } catch {
      isDir = false;
    }
    if (isDir) yield* walk(fs, path);
    else yield [path, fs.read(path)];
  }
}

/** The files `boot --dtb-out/--host-dtb-out` ask for, and the `--procfs-out` tree (paths under its dir), as [path, bytes]. */
export function bootOutputs(vm: Vm, o: { dtbOut?: string; hostDtbOut?: string; procfsOut?: string }): { files: Array<[string, Uint8Array]>; tree: Array<[string, Uint8Array]> } {
  const files: Array<[string, Uint8Array]> = [];
  if (o.dtbOut !== undefined) files.push([o.dtbOut, vm.shim.dtb]);
  if (o.hostDtbOut !== undefined) files.push([o.hostDtbOut, hostDtb(vm.config)]);
  const root = o.procfsOut;
  const tree = root === undefined ? [] : [...walk(vm.kernel.procfs, '/')].map(([path, bytes]): [string, Uint8Array] => [join(root, path), bytes]);
  return { files, tree };
}

/** `boot --show WHAT` as text. */
export function renderBoot(vm: Vm, show: string): string {
  switch (show) {
    case 'topology': {
      const r = bootReport(vm);
      const lines = [
        `${vm.config.name}: ${r.topology.arch}, ${r.topology.vps.length} VPs, ${r.topology.nodes.length} NUMA nodes, usermode ${r.usermodeVersion}`,
        ...r.topology.nodes.map((n) => {
          const vps = r.topology.vps.filter((v) => v.vnode === n.vnode);
          const regs = formatCpuList(vps.map((v) => v.reg)).replace(/\d+/g, (d) => `0x${Number(d).toString(16)}`);
          return `  node ${n.vnode}: vps ${formatCpuList(vps.map((v) => v.index)) || '-'} (${r.topology.arch === 'aarch64' ? 'mpidr' : 'apic id'} ${regs || '-'}); ram ${n.memory.map((m) => `0x${m.base.toString(16)}+0x${m.size.toString(16)}`).join(' ')}`;
        }),
        `  linux cpus: ${formatCpuList(r.bootCpus)}`,
        `  sidecar cpus: ${r.sidecarVps.length === 0 ? '-' : formatCpuList(r.sidecarVps)}`,
        `  stages: ${r.stages.map((s) => `${s.name} ${s.ms.toFixed(1)} ms`).join(', ')}`,
      ];
      return `${lines.join('\n')}\n`;
    }
    case 'cmdline':
      return `${vm.discovered.cmdline}\n`;
    case 'dt':
      return printDts(readFdt(vm.shim.dtb));
    case 'procfs':
      return [...walk(vm.kernel.procfs, '/')].map(([p, b]) => `${p} (${b.length} bytes)`).join('\n') + '\n';
    default:
      throw new HclError('USAGE', `boot --show ${show}: expected topology, cmdline, dt or procfs`);
  }
}

/** The JSON a restore prints. */
export interface RestoreOutput {
  id: string | null;
  from: string;
  /** Layer and kind of the outcome (an accepted restore: the oracle's verdict). */
  outcome: RestoreOutcome;
  /** The oracle's verdict: no inconsistencies between the restored paravisor and the host. */
  topologyConsistent: boolean;
  inconsistencies: Inconsistency[];
  proof: { ok: boolean; units: number; differences: ProofDifference[] };
  overrides: Array<{ path: string; value: unknown }>;
  cmdline: string;
  usermodeVersion: string;
  restoredUnits: string[];
  defaultedUnits: string[];
}

/** Restores, optionally runs a workload and saves, and returns what `restore --json` prints. */
export async function runRestore(store: SnapshotStore, ref: string, o: Partial<RestoreOptions>, after: { workload?: string | undefined; save: boolean }): Promise<RestoreOutput> {
  const workload = after.workload === undefined ? null : parseWorkload(after.workload);
  const r = await restoreSnapshot(store, ref, o);
  if (workload !== null) runWorkload(r.vm.units, r.vm.hv, workload);
  const saved = after.save ? await saveVm(r.vm, store, { parent: r.from, overrides: r.overrides, workload, name: r.info.config.name }) : undefined;
  return {
    id: saved?.id ?? null, from: r.from, outcome: r.outcome, topologyConsistent: r.topologyConsistent, inconsistencies: r.inconsistencies,
    proof: r.proof, overrides: r.overrides,
    cmdline: new TextDecoder().decode(r.vm.kernel.procfs.read('/proc/cmdline')).trimEnd(), usermodeVersion: r.vm.usermodeVersion,
    restoredUnits: r.restoredUnits, defaultedUnits: r.defaultedUnits,
  };
}

/**
 * Restore output as text. Allowed differences are summarised by kind (path with indices as
 * `[*]`, values, reason) with a count; `verbose` lists each one. Unexplained ones always are.
 */
export function renderRestore(o: RestoreOutput, verbose = false): string {
  const diffs = o.proof.differences;
  const unexplained = diffs.filter((d) => d.allowed === undefined);
  // A whole entry that appeared or went (a VP the host added) shows as (absent) and {…}, not "[object Object]".
  const shown = (v: unknown) => (v === undefined ? '(absent)' : Array.isArray(v) ? '[…]' : typeof v === 'object' && v !== null && !(v instanceof Uint8Array) ? '{…}' : String(v));
  const line = (d: ProofDifference, path = d.path) => `${d.unit}.${path}: ${shown(d.from)} → ${shown(d.to)}`;
  const kinds = new Map<string, number>();
  for (const d of diffs) {
    if (d.allowed === undefined) continue;
    const k = `${line(d, d.path.replace(/\[\d+\]/g, '[*]'))}  (${d.allowed})`;
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
  }
  const allowed = diffs.length - unexplained.length;
  const lines = [
    `restored ${o.from.slice(0, 12)}${o.overrides.length === 0 ? '' : ` with ${o.overrides.map((x) => `${x.path}=${JSON.stringify(x.value)}`).join(' ')}`}`,
    `  outcome: ${o.outcome.kind} (${o.outcome.layer})`,
    `  consistency: ${o.topologyConsistent ? 'the restored paravisor fits the host' : `${o.inconsistencies.length} inconsistencies OpenHCL lets through`}`,
    ...o.inconsistencies.map((x) => `    ${x.kind}: ${x.message}`),
    `  usermode: ${o.usermodeVersion}`,
    `  proof: ${o.proof.ok ? 'ok' : 'FAILED'} (${o.proof.units} units; ${allowed} expected difference${allowed === 1 ? '' : 's'}, ${unexplained.length} unexplained)`,
    ...(verbose
      ? diffs.filter((d) => d.allowed !== undefined).map((d) => `    ${line(d)}  (${d.allowed})`)
      : [...kinds].map(([k, n]) => `    ${n} × ${k}`)),
    ...unexplained.map((d) => `    UNEXPLAINED ${line(d)}`),
    `  /proc/cmdline: ${o.cmdline}`,
    ...(o.id === null ? [] : [`saved ${o.id.slice(0, 12)}`]),
  ];
  return `${lines.join('\n')}\n`;
}

/** One `cycle` record. */
export interface CycleRecord {
  cycle: number;
  id: string;
  bytes: number;
  newBytes: number;
  proof: boolean;
  topologyConsistent: boolean;
  ms: number;
}

/** Runs `cycles` rounds of workload → save → restore with proof, continuing on the restored VM. */
export async function runCycles(store: SnapshotStore, config: VmConfig, o: { cycles: number; seed: number; steps: number }, each: (r: CycleRecord) => void): Promise<CycleRecord[]> {
  if (!Number.isSafeInteger(o.cycles) || o.cycles < 1) throw new HclError('USAGE', `cycle --cycles ${o.cycles}: expected a positive integer`);
  let vm = bootWithWorkload(config, null);
  let parent: string | null = null;
  const out: CycleRecord[] = [];
  for (let i = 1; i <= o.cycles; i++) {
    const start = performance.now();
    const workload = { seed: (o.seed + i - 1) >>> 0, steps: o.steps };
    runWorkload(vm.units, vm.hv, workload);
    const saved = await saveVm(vm, store, { parent, workload });
    const r = await restoreSnapshot(store, saved.id);
    const rec = { cycle: i, id: saved.id, bytes: saved.bytes, newBytes: saved.newBytes, proof: r.proof.ok, topologyConsistent: r.topologyConsistent, ms: performance.now() - start };
    out.push(rec);
    each(rec);
    vm = r.vm;
    parent = saved.id;
  }
  return out;
}

/**
 * `show REF [--unit NAME]`: the decoded snapshot or one unit as canonical JSON; register values,
 * addresses and sizes as `0x…` strings (lib/diff/hex.ts) unless `json` asks for the lossless form.
 */
export async function showSnapshot(ref: string, o: { store?: string; maxSnapshotBytes?: number; unit?: string; json?: boolean }): Promise<string> {
  const { loadSnapshotForDiff } = await import('../commands/diff.ts');
  const d = viewSnapshot(await loadSnapshotForDiff(ref, o));
  const view = (v: unknown, keys: string[]) => `${canonicalJson(o.json === true ? v : withHexFields(v, keys))}\n`;
  if (o.unit === undefined) return view(d, []);
  // Beside the units: the hypervisor's registers, the host-kept VTL0 ring pages and the init state.
  const beside: Record<string, unknown> = { hv: d.hv, vtl0: d.vtl0, init: d.init };
  const own = Object.hasOwn(beside, o.unit);
  const keys = own ? [o.unit] : ['units', o.unit];
  const u = (Object.hasOwn(d.units, o.unit) ? d.units[o.unit] : undefined) ?? (own && beside[o.unit] !== undefined ? { state: beside[o.unit] } : undefined);
  if (u === undefined) throw new HclError('STATE_UNKNOWN_UNIT', `show ${ref}: no unit ${o.unit} (units: ${Object.keys(d.units).join(', ')}, hv, vtl0, init)`);
  return view(u, keys);
}
