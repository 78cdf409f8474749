import { HclError } from '../errors.ts';

/**
 * Linux's list format for CPU and node masks (`%*pbl`, lib/vsprintf.c bitmap_list_string):
 * sorted, runs of two or more as "a-b", joined by commas: [0, 1, 2, 3, 8] → "0-3,8". The empty
 * set is "". Callers add the "\n" sysfs files end with.
 */
export function formatCpuList(numbers: Iterable<number>): string {
  const sorted = [...new Set(numbers)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j > i ? `${sorted[i]}-${sorted[j]}` : `${sorted[i]}`);
    i = j + 1;
  }
  return parts.join(',');
}

const MAX_CPU = 1 << 20;

/**
 * Parses Linux's list format ("0-3,8", a trailing newline allowed) into sorted unique numbers,
 * as bitmap_parselist reads it, including "a-b:used/group" strides. KERNEL_CPULIST_INVALID
 * for anything else.
 */
export function parseCpuList(text: string): number[] {
  const body = text.replace(/\n$/, '');
  const out = new Set<number>();
  if (body.trim() === '') return [];
  for (const part of body.split(',')) {
    const m = /^\s*(\d+)(?:-(\d+)(?::(\d+)\/(\d+))?)?\s*$/.exec(part);
    const bad = (why: string): HclError => new HclError('KERNEL_CPULIST_INVALID', `cpu list "${body}": ${why} in "${part}"`);
    if (m === null) throw bad('not a number or range');
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    const used = m[3] === undefined ? 1 : Number(m[3]);
    const group = m[4] === undefined ? 1 : Number(m[4]);
    if (hi < lo) throw bad('range end below start');
    if (hi >= MAX_CPU) throw bad(`number above ${MAX_CPU - 1}`);
    if (used < 1 || group < 1 || used > group) throw bad('bad stride');
    for (let n = lo; n <= hi; n++) if ((n - lo) % group < used) out.add(n);
  }
  return [...out].sort((a, b) => a - b);
}
