import { createTwoFilesPatch, diffWordsWithSpace } from 'diff';
import { COLOURS as pc } from '../colour.ts';
import { canonicalJson, toCanonicalJsonValue } from './canonical-json.ts';
import { hexOf, isHexField, pathKeys } from './hex.ts';
import type { SchemaReport } from './schema-check.ts';
import type { DecodedSnapshot } from '../snapshot/index.ts';
import type { Change, SnapshotDiff } from './types.ts';

/**
 * Renderers of a snapshot diff: human text (`nvme.ioQueues[3].tail: 17 → 42`), a JSON list of
 * changes, and a unified text diff of the canonical JSON rendering of both snapshots.
 */

/** Colour functions; identity when colour is off. */
interface Paint {
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  bold(s: string): string;
  dim(s: string): string;
}

const PLAIN: Paint = { red: String, green: String, yellow: String, bold: String, dim: String };
const COLOUR: Paint = { red: pc.red, green: pc.green, yellow: pc.yellow, bold: pc.bold, dim: pc.dim };


/** Bytes longer than this are shown as their first bytes and a count. */
const HEX_PREVIEW = 16;

function hex(b: Uint8Array): string {
  const h = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
  return b.length <= HEX_PREVIEW ? h : `${h.slice(0, HEX_PREVIEW * 2)}…`;
}

/**
 * One value as the text diff shows it: an integer at a hex field (hex.ts; `path` names it) as
 * `0x…`, other bigints with `n`, bytes as hex, the rest as JSON.
 */
export function formatValue(v: unknown, path?: string): string {
  if (path !== undefined && isHexField(pathKeys(path))) {
    const h = hexOf(v);
    if (typeof h === 'string') return h;
  }
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Uint8Array) return hex(v);
  const s = JSON.stringify(toCanonicalJsonValue(v)) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}…` : s;
}

/** The path of a change, with `[0x10..0x1f] (16 bytes)` for a byte range. */
export function changePath(c: Change): string {
  if (c.range === undefined) return c.path;
  const x = (n: number) => `0x${n.toString(16)}`;
  const n = c.range.end - c.range.start;
  return `${c.path}[${x(c.range.start)}..${x(c.range.end - 1)}] (${n} byte${n === 1 ? '' : 's'})`;
}

/** Strings longer than this are shown as a word diff around their changes. */
const LONG_STRING = 60;
/** Unchanged text kept on each side of a change in a word diff. */
const WORD_CONTEXT = 20;

/** `…same [-old-]{+new+} same…`: where two long strings differ (the `diff` package's word diff). */
function wordDiff(a: string, b: string, p: Paint): string {
  const parts = diffWordsWithSpace(a, b);
  return parts.map((part, i) => {
    if (part.added) return p.green(`{+${part.value}+}`);
    if (part.removed) return p.red(`[-${part.value}-]`);
    const v = part.value;
    const head = i === 0 ? '' : v.slice(0, WORD_CONTEXT);
    const tail = i === parts.length - 1 ? '' : v.slice(-WORD_CONTEXT);
    return head.length + tail.length >= v.length ? v : `${head}…${tail}`;
  }).join('');
}

function line(c: Change, p: Paint): string {
  switch (c.kind) {
    case 'added': return `${p.green('+')} ${changePath(c)}: ${p.green(formatValue(c.to, c.path))}`;
    case 'removed': return `${p.red('-')} ${changePath(c)}: ${p.red(formatValue(c.from, c.path))}`;
    case 'changed':
      if (typeof c.from === 'string' && typeof c.to === 'string' && Math.max(c.from.length, c.to.length) > LONG_STRING) {
        return `  ${changePath(c)}: ${wordDiff(c.from, c.to, p)}`;
      }
      return `  ${changePath(c)}: ${p.red(formatValue(c.from, c.path))} → ${p.green(formatValue(c.to, c.path))}`;
  }
}

/** Human text of a diff, with ANSI colour when `colour` (the CLI decides). Ends with a newline. */
export function renderText(d: SnapshotDiff, colour: boolean): string {
  const p = colour ? COLOUR : PLAIN;
  const name = (s: SnapshotDiff['a']) => [s.name, s.id?.slice(0, 12)].filter((x) => x !== null && x !== undefined).join(' ') || '(unnamed)';
  const out = [p.bold(`diff ${name(d.a)} → ${name(d.b)}`)];
  for (const u of d.upgraded) out.push(p.yellow(`note: ${u.unit} on side ${u.side} upgraded from generation ${u.from} to ${u.to} before comparing`));
  if (d.manifest.length > 0) out.push(p.bold('manifest'), ...d.manifest.map((c) => line(c, p)));
  for (const n of d.unitsAdded) out.push(`${p.green('+')} unit ${n} added`);
  for (const n of d.unitsRemoved) out.push(`${p.red('-')} unit ${n} removed`);
  for (const [n, changes] of Object.entries(d.units)) out.push(p.bold(`unit ${n}`), ...changes.map((c) => line(c, p)));
  const total = d.manifest.length + d.unitsAdded.length + d.unitsRemoved.length + Object.values(d.units).reduce((s, c) => s + c.length, 0);
  out.push(p.dim(total === 0 ? 'no differences' : `${total} difference${total === 1 ? '' : 's'}`));
  return `${out.join('\n')}\n`;
}

/** One change as plain JSON data (values in canonical JSON form). */
export interface JsonChange {
  section: 'manifest' | 'units' | 'unit';
  path: string;
  kind: Change['kind'];
  from?: unknown;
  to?: unknown;
  range?: { start: number; end: number };
}

/** The machine-readable diff: every change as one list entry, plus the upgrade notes. */
export function diffToJson(d: SnapshotDiff): { a: SnapshotDiff['a']; b: SnapshotDiff['b']; upgraded: SnapshotDiff['upgraded']; changes: JsonChange[] } {
  const entry = (section: JsonChange['section'], c: Change): JsonChange => ({
    section,
    path: c.path,
    kind: c.kind,
    ...('from' in c ? { from: toCanonicalJsonValue(c.from) } : {}),
    ...('to' in c ? { to: toCanonicalJsonValue(c.to) } : {}),
    ...(c.range === undefined ? {} : { range: c.range }),
  });
  const changes: JsonChange[] = [
    ...d.manifest.map((c) => entry('manifest', c)),
    ...d.unitsAdded.map((n): JsonChange => ({ section: 'units', path: n, kind: 'added' })),
    ...d.unitsRemoved.map((n): JsonChange => ({ section: 'units', path: n, kind: 'removed' })),
    ...Object.values(d.units).flatMap((cs) => cs.map((c) => entry('unit', c))),
  ];
  return { a: d.a, b: d.b, upgraded: d.upgraded, changes };
}

/** The canonical JSON rendering of a decoded snapshot, as `show` prints it and `--unified` compares it. */
export function snapshotJson(s: DecodedSnapshot): string {
  return `${canonicalJson(s)}\n`;
}

/** A unified diff (the `diff` package) of the canonical JSON of `a` and `b`, labelled by their names. */
export function renderUnified(a: DecodedSnapshot, b: DecodedSnapshot, labels: [string, string] = ['a', 'b'], context = 3): string {
  return createTwoFilesPatch(labels[0], labels[1], snapshotJson(a), snapshotJson(b), undefined, undefined, { context });
}

/** Human text of a schema check: each breaking change with unit, path, directions and why; then the compatible ones. */
export function renderSchemaReport(r: SchemaReport, colour: boolean): string {
  const p = colour ? COLOUR : PLAIN;
  const out: string[] = [];
  for (const f of r.breaking) out.push(`${p.red('BREAKING')} ${f.unit} ${f.path}: ${f.kind} (breaks ${f.breaks.join(' and ')}): ${f.message}`);
  for (const f of r.compatibleChanges) out.push(`${p.green('ok')} ${f.unit} ${f.path}: ${f.kind}: ${f.message}`);
  const n = r.breaking.length;
  out.push(n === 0
    ? p.green(`compatible: ${r.compatibleChanges.length} compatible change${r.compatibleChanges.length === 1 ? '' : 's'}, nothing breaks`)
    : p.red(`incompatible: ${n} breaking change${n === 1 ? '' : 's'}, ${r.compatibleChanges.length} compatible`));
  return `${out.join('\n')}\n`;
}
