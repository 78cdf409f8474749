import type { Plant } from '../lib/plant.ts';

/**
 * Planted defects (lib/plant.ts): where each sits and what it breaks. Each is passed down the
 * real code path as an explicit `plant` option by the property that must catch it; gc's is the
 * one exception, still read from the environment (see `withPlanted`).
 */

/** Every planted defect: where it sits and what it breaks. */
export const SEAMS = {
  'shim-ignores-vnode': 'lib/shim/hostdt.ts: the shim parses every cpu of vnode 1 as vnode 0',
  'unit-forgets-field': 'lib/hcl/units/base.ts: rtc.cmos restore forgets the selected CMOS index',
  'shim-drops-host-cmdline': 'lib/shim/cmdline.ts: append-chosen ignores the host bootargs',
  'shim-persists-short-map': 'harness/servicing.ts: a VM that was itself restored persists its partition map without its last VTL2 range',
  'oracle-ignores-mmio': 'harness/oracle.ts: the consistency oracle does not compare MMIO',
  'sidecar-ignores-outstanding-io': 'lib/shim/sidecarplan.ts: CPUs with outstanding I/O are left in sidecar on restore',
  'gc-drops-live-blob': 'lib/store/maintenance.ts: gc sweeps the first live blob it meets',
  'reader-skips-bounds': 'lib/bytes/reader.ts: the FDT reader\'s ByteReaders let a short read through (a RangeError escapes)',
} as const satisfies Record<Plant, string>;

/**
 * Runs `fn` with gc-drops-live-blob set in HCLCKPT_TEST_SEAM, which lib/store/maintenance.ts still
 * reads (its owner moves it to a parameter); every other plant is passed down by the property.
 */
export async function withPlanted<T>(plant: Plant | undefined, fn: () => Promise<T>): Promise<T> {
  if (plant === 'gc-drops-live-blob') {
    const prev = process.env['HCLCKPT_TEST_SEAM'];
    process.env['HCLCKPT_TEST_SEAM'] = plant;
    try {
      return await fn();
    } finally {
      if (prev === undefined) delete process.env['HCLCKPT_TEST_SEAM'];
      else process.env['HCLCKPT_TEST_SEAM'] = prev;
    }
  }
  return fn();
}
