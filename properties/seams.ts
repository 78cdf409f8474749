import { PLANTS, type Plant } from '../lib/plant.ts';

/**
 * Test-only seams: named, realistic defects that production code plants when the environment
 * variable HCLCKPT_TEST_SEAM names them, or, for those in lib/plant.ts, when the test passes the
 * name down as a `plant` option. Each is checked in exactly one small place (marked
 * `TEST-ONLY seam` there), so a property test can show that its property catches the bug it is
 * there for. An environment variable, not a module hook, so worker threads and child processes
 * see the same defect.
 */

/** The environment variable production code reads at its seam. */
export const SEAM_ENV = 'HCLCKPT_TEST_SEAM';

/** Every planted defect: where it sits and what it breaks. */
export const SEAMS = {
  'shim-ignores-vnode': 'lib/shim/hostdt.ts: the shim parses every cpu of vnode 1 as vnode 0',
  'unit-forgets-field': 'lib/hcl/units/base.ts: rtc.cmos restore forgets the selected CMOS index',
  'shim-drops-host-cmdline': 'lib/shim/cmdline.ts: append-chosen ignores the host bootargs',
  'shim-persists-short-map': 'harness/servicing.ts (plant): a VM that was itself restored persists its partition map without its last VTL2 range',
  'oracle-ignores-mmio': 'harness/oracle.ts (plant): the consistency oracle does not compare MMIO',
  'sidecar-ignores-outstanding-io': 'lib/shim/sidecarplan.ts: CPUs with outstanding I/O are left in sidecar on restore',
  'gc-drops-live-blob': 'lib/store/maintenance.ts: gc sweeps the first live blob it meets',
  'reader-skips-bounds': 'lib/bytes/reader.ts: ByteReader lets a short read through (a RangeError escapes)',
} as const;

/** The name of a planted defect. */
export type SeamName = keyof typeof SEAMS;

/** `name` as a defect passed down as a `plant` option (lib/plant.ts), else undefined. */
export function plantOf(name: SeamName): Plant | undefined {
  return PLANTS.find((p) => p === name);
}

/** True when the running process plants `name` (what each production seam checks). */
export function seamActive(name: SeamName): boolean {
  return process.env[SEAM_ENV] === name;
}

/** Runs `fn` with defect `name` planted, restoring the previous value afterwards. */
export async function withSeam<T>(name: SeamName, fn: () => Promise<T> | T): Promise<T> {
  const prev = process.env[SEAM_ENV];
  process.env[SEAM_ENV] = name;
  try {
    return await fn();
  } finally {
    if (prev === undefined) delete process.env[SEAM_ENV];
    else process.env[SEAM_ENV] = prev;
  }
}
