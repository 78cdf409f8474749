import { ByteReader } from '../lib/bytes/index.ts';
import { PLANTS, type Plant } from '../lib/plant.ts';

/**
 * Planted defects (lib/plant.ts): where each sits and what it breaks, and how a property run
 * plants one. Most are passed down the real code path as an explicit `plant` option; the two
 * below that sit under every caller are planted around the run instead, by this module only.
 */

/** Every planted defect: where it sits and what it breaks. */
export const SEAMS = {
  'shim-ignores-vnode': 'lib/shim/hostdt.ts: the shim parses every cpu of vnode 1 as vnode 0',
  'unit-forgets-field': 'lib/hcl/units/base.ts: rtc.cmos restore forgets the selected CMOS index',
  'shim-drops-host-cmdline': 'lib/shim/cmdline.ts: append-chosen ignores the host bootargs',
  'restore-writes-early': 'harness/servicing.ts: restore writes its new snapshot before the topology check can refuse it',
  'shim-persists-short-map': 'harness/servicing.ts: a VM that was itself restored saves a topology checkpoint without its last memory range',
  'sidecar-ignores-outstanding-io': 'lib/shim/sidecarplan.ts: CPUs with outstanding I/O are left in sidecar on restore',
  'gc-drops-live-blob': 'lib/store/maintenance.ts: gc sweeps the first live blob it meets',
  'reader-skips-bounds': 'lib/bytes/reader.ts: ByteReader lets a short read through (a RangeError escapes)',
} as const satisfies Record<Plant, string>;

/** `name` as a planted defect; undefined when it names none (a record from another version). */
export function asPlant(name: string): Plant | undefined {
  return (PLANTS as readonly string[]).find((p) => p === name) as Plant | undefined;
}

type Checker = { need(at: number, n: number): void };

/**
 * Runs `fn` with `plant` active where it cannot be passed as a parameter: reader-skips-bounds
 * replaces ByteReader's one bounds check with a no-op; gc-drops-live-blob is still read from
 * HCLCKPT_TEST_SEAM by lib/store/maintenance.ts (its store owner moves it to a parameter).
 * Every other plant is a no-op here: the property passes it down itself.
 */
export async function withPlanted<T>(plant: Plant | undefined, fn: () => Promise<T>): Promise<T> {
  if (plant === 'reader-skips-bounds') {
    const proto = ByteReader.prototype as unknown as Checker;
    const real = proto.need;
    proto.need = () => {};
    try {
      return await fn();
    } finally {
      proto.need = real;
    }
  }
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
