import type { Plant } from '../lib/plant.ts';

/**
 * Planted defects (lib/plant.ts): where each sits and what it breaks. Each is passed down the
 * real code path as an explicit `plant` option by the property that must catch it (gc's as the
 * store's `OpenOptions.seams`).
 */

/** Every planted defect: where it sits and what it breaks. */
export const SEAMS = {
  'shim-ignores-vnode': 'lib/shim/hostdt.ts: the shim parses every cpu of vnode 1 as vnode 0',
  'unit-forgets-field': 'lib/hcl/units/base.ts: rtc.cmos restore forgets the selected CMOS index',
  'shim-drops-host-cmdline': 'lib/shim/cmdline.ts: append-chosen ignores the host bootargs',
  'shim-persists-short-map': 'harness/servicing.ts: a VM that was itself restored persists its partition map without its last VTL2 range',
  'oracle-ignores-mmio': 'harness/oracle.ts: the consistency oracle does not compare MMIO',
  'sidecar-ignores-outstanding-io': 'lib/shim/sidecarplan.ts: CPUs with outstanding I/O are left in sidecar on restore',
  'gc-drops-live-blob': 'lib/store/maintenance.ts: gc sweeps the first live blob it meets (passed in as OpenOptions.seams by properties/props/store-commands.ts, not read by lib/)',
  'reader-skips-bounds': 'lib/bytes/reader.ts: ByteReader lets a short read through (a RangeError escapes)',
} as const satisfies Record<Plant, string>;
