import { sha256Hex } from '../bytes/index.ts';
import { decodeVsmContext } from './context.ts';
import { isParameterUsage, PlatformType, type IgvmFile } from './types.ts';
import { platformName } from './validate.ts';

const hex = (v: bigint | number): string => `0x${v.toString(16)}`;

/** A run of consecutive 4 KiB pages with the same attributes. */
export interface PageRange { start: string; end: string; pages: number; contents: 'data' | 'zero'; dataType: number; flags: number }

/** What `igvm inspect` reports, as data. */
export interface IgvmSummary {
  file: { size: number; sha256: string; revision: string; headers: number; variableHeaderBytes: number; dataBytes: number };
  headerCounts: Record<string, number>;
  platforms: Array<{ mask: string; platform: string; highestVtl: number; sharedGpaBoundary: string; pages: PageRange[] }>;
  parameterAreas: Array<{ index: number; bytes: string; initialData: number; parameters: Array<{ kind: string; byteOffset: number }>; insertedAt: Array<{ gpa: string; mask: string }> }>;
  vpContexts: Array<{ mask: string; platform: string; vpIndex: number; gpa: string; bytes: number; vtl?: number; registers?: number }>;
  requiredMemory: Array<{ gpa: string; bytes: number; mask: string; vtl2Protectable: boolean }>;
}

function pageRanges(file: IgvmFile, bit: number): PageRange[] {
  const pages = file.headers.flatMap((h) => (h.kind === 'PAGE_DATA' && (h.compatibilityMask & bit) !== 0 ? [h] : []))
    .sort((a, b) => (a.gpa < b.gpa ? -1 : a.gpa > b.gpa ? 1 : 0));
  const out: Array<PageRange & { next: bigint }> = [];
  for (const p of pages) {
    const contents = p.data.length === 0 || p.data.every((b) => b === 0) ? 'zero' : 'data';
    const last = out.at(-1);
    if (last !== undefined && last.next === p.gpa && last.contents === contents && last.dataType === p.dataType && last.flags === p.flags) {
      last.pages += 1;
      last.next += 4096n;
      last.end = hex(last.next);
    } else {
      out.push({ start: hex(p.gpa), end: hex(p.gpa + 4096n), pages: 1, contents, dataType: p.dataType, flags: p.flags, next: p.gpa + 4096n });
    }
  }
  return out.map(({ next: _n, ...r }) => r);
}

/** Summarizes a parsed file: platforms with their page layout, parameter areas, VP contexts, sizes. */
export function summarizeIgvm(file: IgvmFile, bytes: Uint8Array): IgvmSummary {
  const counts: Record<string, number> = {};
  for (const h of file.headers) counts[h.kind] = (counts[h.kind] ?? 0) + 1;
  const platformOf = new Map<number, number>();
  const platforms: IgvmSummary['platforms'] = [];
  for (const h of file.headers) {
    if (h.kind !== 'SUPPORTED_PLATFORM') continue;
    platformOf.set(h.compatibilityMask, h.platformType);
    platforms.push({ mask: hex(h.compatibilityMask), platform: platformName(h.platformType), highestVtl: h.highestVtl,
      sharedGpaBoundary: hex(h.sharedGpaBoundary), pages: pageRanges(file, h.compatibilityMask) });
  }
  const areas = new Map<number, IgvmSummary['parameterAreas'][number]>();
  const vpContexts: IgvmSummary['vpContexts'] = [];
  const requiredMemory: IgvmSummary['requiredMemory'] = [];
  for (const h of file.headers) {
    if (h.kind === 'PARAMETER_AREA') {
      areas.set(h.parameterAreaIndex, { index: h.parameterAreaIndex, bytes: hex(h.numberOfBytes), initialData: h.initialData.length, parameters: [], insertedAt: [] });
    } else if (h.kind === 'PARAMETER_INSERT') {
      areas.get(h.parameterAreaIndex)?.insertedAt.push({ gpa: hex(h.gpa), mask: hex(h.compatibilityMask) });
    } else if (h.kind === 'VP_CONTEXT') {
      const type = platformOf.get(h.compatibilityMask);
      const entry: IgvmSummary['vpContexts'][number] = { mask: hex(h.compatibilityMask), platform: type === undefined ? 'unknown' : platformName(type),
        vpIndex: h.vpIndex, gpa: hex(h.gpa), bytes: h.data.length };
      if (type === PlatformType.VSM_ISOLATION) {
        const regs = decodeVsmContext(h.data);
        entry.registers = regs.length;
        if (regs[0] !== undefined) entry.vtl = regs[0].vtl;
      }
      vpContexts.push(entry);
    } else if (h.kind === 'REQUIRED_MEMORY') {
      requiredMemory.push({ gpa: hex(h.gpa), bytes: h.numberOfBytes, mask: hex(h.compatibilityMask), vtl2Protectable: (h.flags & 1) !== 0 });
    } else if (isParameterUsage(h)) {
      areas.get(h.parameterAreaIndex)?.parameters.push({ kind: h.kind, byteOffset: h.byteOffset });
    }
  }
  const fh = file.fixedHeader;
  return {
    file: { size: bytes.length, sha256: sha256Hex(bytes), revision: file.revision.version === 1 ? 'v1 x64' : `v2 ${file.revision.arch}`,
      headers: file.headers.length, variableHeaderBytes: fh.variableHeaderSize, dataBytes: bytes.length - file.dataStart },
    headerCounts: counts, platforms, parameterAreas: [...areas.values()], vpContexts, requiredMemory,
  };
}

/** Renders a summary as human-readable text. */
export function renderIgvmSummary(s: IgvmSummary): string {
  const lines = [
    `IGVM ${s.file.revision}, ${s.file.size} bytes (${s.file.variableHeaderBytes} variable header, ${s.file.dataBytes} data), ${s.file.headers} headers`,
    `sha256 ${s.file.sha256}`,
    `headers: ${Object.entries(s.headerCounts).map(([k, n]) => `${k}×${n}`).join(', ')}`,
  ];
  for (const p of s.platforms) {
    lines.push(`platform ${p.platform} mask ${p.mask} highest vtl ${p.highestVtl}${p.sharedGpaBoundary === '0x0' ? '' : ` shared gpa boundary ${p.sharedGpaBoundary}`}`);
    for (const r of p.pages) lines.push(`  ${r.start}-${r.end} ${String(r.pages).padStart(6)} pages ${r.contents} type ${r.dataType} flags ${hex(r.flags)}`);
  }
  for (const a of s.parameterAreas) {
    const ins = a.insertedAt.map((i) => `${i.gpa} (mask ${i.mask})`).join(', ') || 'never inserted';
    lines.push(`parameter area ${a.index}: ${a.bytes} bytes, ${a.initialData} initial, inserted at ${ins}`);
    for (const p of a.parameters) lines.push(`  +${hex(p.byteOffset)} ${p.kind}`);
  }
  for (const c of s.vpContexts) {
    const vsm = c.registers === undefined ? '' : `, vtl ${c.vtl ?? '-'}, ${c.registers} registers`;
    lines.push(`vp context ${c.platform} mask ${c.mask} vp ${c.vpIndex} gpa ${c.gpa}: ${c.bytes} bytes${vsm}`);
  }
  for (const r of s.requiredMemory) lines.push(`required memory ${r.gpa} +${hex(r.bytes)} mask ${r.mask}${r.vtl2Protectable ? ' vtl2-protectable' : ''}`);
  return `${lines.join('\n')}\n`;
}

