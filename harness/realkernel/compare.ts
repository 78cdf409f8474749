import { isHclError } from '../../lib/errors.ts';
import { readFdt } from '../../lib/fdt/index.ts';
import { readText, type ProcFs } from '../../lib/abi/index.ts';
import { diffFdt, isQemuRewritten, memoryPerNode, showValue, type Difference } from './fdtdiff.ts';
import { memTotalKb, type RealKernelReport } from './report.ts';

/**
 * The real-kernel check: what hclckpt's kernel stage (any ProcFs) reports against what Linux
 * reported for the same DTB under qemu. Texts are compared exactly; memory by the rule below.
 */

const ABSENT = '(absent)';
const DT = '/proc/device-tree';
const PAGE_KB = 4; // Debian's arm64 kernels use 4 KiB pages.

/**
 * How node memory is compared. Linux's `Node N MemTotal` counts managed pages: present RAM minus
 * what memblock reserved (kernel image, memmap, DTB, initrd), which no DTB-level model can know.
 * So: the kernel's present pages must equal the node's RAM in the model DTB exactly, and the
 * model's MemTotal must lie between the real managed and present sizes.
 */
export const MEMORY_RULE = 'real present pages = model DTB node RAM; real MemTotal <= model MemTotal <= real present';

function text(fs: ProcFs, path: string): string | undefined {
  try {
    return readText(fs, path);
  } catch (e) {
    if (isHclError(e, 'PROCFS_NOT_FOUND')) return undefined;
    throw e;
  }
}

/** Every file under `dir` in a ProcFs, as full paths, sorted; directories are not listed. */
export function walkFiles(fs: ProcFs, dir: string): string[] {
  if (!fs.exists(dir)) return [];
  const out: string[] = [];
  for (const name of fs.list(dir)) {
    const p = `${dir}/${name}`;
    let isDir = true;
    try {
      fs.list(p);
    } catch (e) {
      if (!isHclError(e, 'PROCFS_NOT_FOUND')) throw e;
      isDir = false;
    }
    if (isDir) out.push(`${p}/`, ...walkFiles(fs, p));
    else out.push(p);
  }
  return out;
}

function same(out: Difference[], path: string, model: string | undefined, real: string | undefined): void {
  if (model !== real) out.push({ path, model: model ?? ABSENT, real: real ?? ABSENT });
}

function nodeIds(fs: ProcFs): number[] {
  if (!fs.exists('/sys/devices/system/node')) return [];
  return fs
    .list('/sys/devices/system/node')
    .map((n) => /^node(\d+)$/.exec(n)?.[1])
    .filter((x): x is string => x !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

function compareMemory(out: Difference[], real: RealKernelReport, model: ProcFs, modelDtb: Uint8Array): void {
  const dtbRam = memoryPerNode(readFdt(modelDtb).root);
  for (const n of real.nodes) {
    const path = `/sys/devices/system/node/node${n.id}/meminfo`;
    const presentKb = n.pages.present * PAGE_KB;
    const ramKb = Number((dtbRam.get(n.id) ?? 0n) / 1024n);
    if (presentKb !== ramKb) {
      out.push({ path: `${path} (present pages)`, model: `${ramKb} kB in DTB memory nodes`, real: `${presentKb} kB present`, rule: MEMORY_RULE });
    }
    const mt = text(model, path);
    if (mt === undefined) continue; // the node itself is reported missing by the caller
    const modelKb = memTotalKb(mt, `model ${path}`);
    if (modelKb < n.memTotalKb || modelKb > presentKb) {
      out.push({ path: `${path} MemTotal`, model: `${modelKb} kB`, real: `${n.memTotalKb} kB managed, ${presentKb} kB present`, rule: MEMORY_RULE });
    }
  }
}

function compareDeviceTree(out: Difference[], real: RealKernelReport, model: ProcFs): void {
  const rel = (p: string): string => p.slice(DT.length + 1);
  const keep = (r: string): boolean => !isQemuRewritten(`/${r.replace(/\/$/, '')}`);
  const modelOpenhcl = walkFiles(model, `${DT}/openhcl`).filter((p) => !p.endsWith('/'));
  for (const p of [...new Set([...modelOpenhcl, ...Object.keys(real.openhcl)])].sort()) {
    const m = model.exists(p) ? model.read(p) : undefined;
    const r = real.openhcl[p];
    if (m !== undefined && r !== undefined && Buffer.from(m).equals(r)) continue;
    out.push({ path: p, model: m === undefined ? ABSENT : showValue(m), real: r === undefined ? ABSENT : showValue(r) });
  }
  // Files already compared byte for byte above are not reported again as listing differences.
  const reported = new Set(out.map((d) => d.path));
  const modelFiles = new Set(walkFiles(model, DT).map(rel).map((r) => r.replace(/\/$/, '')).filter(keep));
  const realFiles = new Set(real.deviceTree.filter(keep));
  for (const p of [...new Set([...modelFiles, ...realFiles])].sort()) {
    if (modelFiles.has(p) !== realFiles.has(p) && !reported.has(`${DT}/${p}`)) {
      out.push({ path: `${DT}/${p}`, model: modelFiles.has(p) ? 'present' : ABSENT, real: realFiles.has(p) ? 'present' : ABSENT });
    }
  }
}

/**
 * Every difference between the real kernel's report and the model's ProcFs for the same DTB:
 * /proc/cmdline, cpu and node masks, per-node cpulist and distance (exact text), node memory by
 * MEMORY_RULE, the /proc/device-tree listing and /openhcl bytes, and the FDT blob (QEMU_REWRITES
 * excepted). An empty list means the model and Linux agree.
 */
export function compareWithModel(real: RealKernelReport, model: ProcFs, modelDtb: Uint8Array): Difference[] {
  const out: Difference[] = [];
  same(out, '/proc/cmdline', text(model, '/proc/cmdline'), real.cmdline);
  for (const f of ['possible', 'present', 'online'] as const) {
    same(out, `/sys/devices/system/cpu/${f}`, text(model, `/sys/devices/system/cpu/${f}`), real.cpu[f]);
  }
  for (const f of ['possible', 'online'] as const) {
    same(out, `/sys/devices/system/node/${f}`, text(model, `/sys/devices/system/node/${f}`), real.node[f]);
  }
  const modelNodes = nodeIds(model);
  for (const id of [...new Set([...modelNodes, ...real.nodes.map((n) => n.id)])].sort((a, b) => a - b)) {
    const r = real.nodes.find((n) => n.id === id);
    const base = `/sys/devices/system/node/node${id}`;
    if (r === undefined || !modelNodes.includes(id)) {
      out.push({ path: `${base}/`, model: modelNodes.includes(id) ? 'present' : ABSENT, real: r === undefined ? ABSENT : 'present' });
      continue;
    }
    same(out, `${base}/cpulist`, text(model, `${base}/cpulist`), r.cpulist);
    same(out, `${base}/distance`, text(model, `${base}/distance`), r.distance);
  }
  compareMemory(out, real, model, modelDtb);
  compareDeviceTree(out, real, model);
  const modelFdt = model.exists('/sys/firmware/fdt') ? model.read('/sys/firmware/fdt') : undefined;
  if (modelFdt === undefined || !Buffer.from(modelFdt).equals(modelDtb)) {
    out.push({ path: '/sys/firmware/fdt', model: modelFdt === undefined ? ABSENT : `${modelFdt.length} bytes`, real: `model DTB, ${modelDtb.length} bytes`, rule: 'the model must expose the DTB it booted' });
  }
  out.push(...diffFdt(modelDtb, real.fdt));
  return out;
}

/** Differences as aligned text lines, one per difference, for the CLI and error messages. */
export function formatDifferences(diffs: readonly Difference[]): string {
  return diffs.map((d) => `${d.path}\n  model: ${JSON.stringify(d.model)}\n  real:  ${JSON.stringify(d.real)}${d.rule === undefined ? '' : `\n  rule:  ${d.rule}`}`).join('\n');
}
