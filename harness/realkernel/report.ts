import { gunzipSync } from 'node:zlib';
import { HclError } from '../../lib/errors.ts';
import { MARK, type SectionKind } from './initramfs.ts';

/**
 * Parsing the serial log of a real-kernel boot into what the kernel reported. Section framing
 * (begin/end markers, one added newline per text section) is the init script's in initramfs.ts.
 */

/** One section of the log: exact text, raw bytes, or a file the kernel did not have. */
export type Section = { kind: 'text'; text: string } | { kind: 'bytes'; bytes: Uint8Array } | { kind: 'missing' };

/** Page counts of one node summed over its zones, from /proc/zoneinfo. */
export interface ZonePages {
  spanned: number;
  present: number;
  managed: number;
}

/** One NUMA node as sysfs shows it; texts are exact file contents. */
export interface RealNode {
  id: number;
  cpulist: string;
  distance: string;
  meminfo: string;
  /** `Node N MemTotal` in kB (the node's managed pages). */
  memTotalKb: number;
  pages: ZonePages;
}

/** What the real kernel reported; texts are exact file contents (with their trailing newline). */
export interface RealKernelReport {
  cmdline: string;
  cpu: { possible: string; present: string; online: string };
  node: { possible: string | undefined; online: string | undefined };
  nodes: RealNode[];
  /** /proc/meminfo MemTotal in kB. */
  memTotalKb: number;
  /** Every path under /proc/device-tree, relative, sorted ("cpus/cpu@0/reg"). */
  deviceTree: string[];
  /** Every file under /proc/device-tree/openhcl keyed by its full path, raw bytes. */
  openhcl: Record<string, Uint8Array>;
  /** /sys/firmware/fdt: the blob the kernel booted from. */
  fdt: Uint8Array;
  /** The kernel's own messages before /init started (diagnostics). */
  kernelLog: string;
}

function bad(why: string): HclError {
  return new HclError('KERNEL_BOOT_FAILED', `kernel log: ${why}`);
}

const KINDS: readonly SectionKind[] = ['text', 'b64', 'b64gz', 'missing'];

/** Splits a log into its sections by name; KERNEL_BOOT_FAILED on a broken or unfinished frame. */
export function parseSections(log: string): { sections: Map<string, Section>; kernelLog: string } {
  const lines = log.replace(/\r\n/g, '\n').split('\n');
  const start = lines.indexOf(`${MARK}:start`);
  if (start < 0) throw bad(`no ${MARK}:start line: /init never ran`);
  const sections = new Map<string, Section>();
  let i = start + 1;
  for (; i < lines.length && lines[i] !== `${MARK}:done`; i++) {
    // The empty string after the log's last newline: the output stopped between sections.
    if (i === lines.length - 1 && lines[i] === '') {
      i = lines.length;
      break;
    }
    const m = /^@@hclckpt:begin (\S+) (\S+)$/.exec(lines[i] as string);
    if (m === null) throw bad(`line ${i + 1}: expected a begin marker, found ${JSON.stringify(lines[i])}`);
    const kind = m[1] as SectionKind;
    const name = m[2] as string;
    if (!KINDS.includes(kind)) throw bad(`line ${i + 1}: unknown section kind ${kind}`);
    const end = lines.indexOf(`${MARK}:end ${name}`, i + 1);
    if (end < 0) throw bad(`section ${name} (line ${i + 1}) has no end marker`);
    const body = lines.slice(i + 1, end).join('\n');
    if (kind === 'missing') sections.set(name, { kind });
    // The script adds one newline after every command's output; joining the lines without a
    // final newline drops exactly that one, so `body` is the file's exact text.
    else if (kind === 'text') sections.set(name, { kind, text: body });
    else {
      const raw = Buffer.from(body.replace(/\s+/g, ''), 'base64');
      try {
        sections.set(name, { kind: 'bytes', bytes: new Uint8Array(kind === 'b64gz' ? gunzipSync(raw) : raw) });
      } catch (e) {
        throw new HclError('KERNEL_BOOT_FAILED', `kernel log: section ${name}: bad gzip data`, { cause: e });
      }
    }
    i = end;
  }
  if (i >= lines.length) throw bad(`no ${MARK}:done line: output ended early`);
  return { sections, kernelLog: lines.slice(0, start).join('\n') };
}

/** Sums spanned/present/managed pages per node from the zoneinfo lines the script keeps. */
export function parseZoneinfo(text: string): Map<number, ZonePages> {
  const out = new Map<number, ZonePages>();
  let cur: ZonePages | undefined;
  for (const line of text.split('\n')) {
    const node = /^Node (\d+), zone/.exec(line);
    if (node !== null) {
      const id = Number(node[1]);
      cur = out.get(id) ?? { spanned: 0, present: 0, managed: 0 };
      out.set(id, cur);
      continue;
    }
    const f = /^\s+(spanned|present|managed)\s+(\d+)$/.exec(line);
    if (f !== null && cur !== undefined) cur[f[1] as keyof ZonePages] += Number(f[2]);
  }
  return out;
}

/** The kB value of a `MemTotal:` line (per-node files prefix it with "Node N"). */
export function memTotalKb(meminfo: string, where: string): number {
  const m = /MemTotal:\s+(\d+) kB/.exec(meminfo);
  if (m === null) throw bad(`${where}: no MemTotal line`);
  return Number(m[1]);
}

/** Parses a whole serial log into a report; KERNEL_BOOT_FAILED naming the first missing section. */
export function parseReport(log: string): RealKernelReport {
  const { sections, kernelLog } = parseSections(log);
  const text = (name: string): string => {
    const s = sections.get(name);
    if (s === undefined) throw bad(`section ${name} is missing`);
    if (s.kind !== 'text') throw bad(`section ${name}: expected text, found ${s.kind}`);
    return s.text;
  };
  const optText = (name: string): string | undefined => (sections.get(name)?.kind === 'text' ? text(name) : undefined);
  const zones = parseZoneinfo(text('zoneinfo'));
  const nodeIds = [...sections.keys()]
    .map((k) => /^node\/node(\d+)\/cpulist$/.exec(k)?.[1])
    .filter((x): x is string => x !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  const nodes = nodeIds.map((id): RealNode => {
    const meminfo = text(`node/node${id}/meminfo`);
    return {
      id,
      cpulist: text(`node/node${id}/cpulist`),
      distance: text(`node/node${id}/distance`),
      meminfo,
      memTotalKb: memTotalKb(meminfo, `node${id}/meminfo`),
      pages: zones.get(id) ?? { spanned: 0, present: 0, managed: 0 },
    };
  });
  const openhcl: Record<string, Uint8Array> = {};
  for (const [name, s] of sections) {
    if (name.startsWith('dt/') && s.kind === 'bytes') openhcl[`/proc/device-tree/${name.slice(3)}`] = s.bytes;
  }
  const fdt = sections.get('fdt');
  if (fdt?.kind !== 'bytes') throw bad('section fdt (/sys/firmware/fdt) is missing');
  return {
    cmdline: text('cmdline'),
    cpu: { possible: text('cpu/possible'), present: text('cpu/present'), online: text('cpu/online') },
    node: { possible: optText('node/possible'), online: optText('node/online') },
    nodes,
    memTotalKb: memTotalKb(text('meminfo'), '/proc/meminfo'),
    deviceTree: text('dt-listing')
      .split('\n')
      .filter((l) => l.startsWith('./'))
      .map((l) => l.slice(2)),
    openhcl,
    fdt: fdt.bytes,
    kernelLog,
  };
}
