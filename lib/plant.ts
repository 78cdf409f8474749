/**
 * Planted defects: named, realistic bugs that a test switches on at one place in the real code
 * path, to show that the property or check written for that bug catches it. A test passes the
 * name down explicitly (`BootOptions.plant`, `RestoreOptions.plant`, the unit context); the CLI
 * never does and nothing reads one from the environment, so production runs cannot reach them.
 * `PLANTS` says where each one sits and what it breaks.
 */

/** Every planted defect, by name: where it sits and what it breaks. */
export const PLANTS = {
  'shim-ignores-vnode': 'lib/shim/hostdt.ts: the shim parses every cpu of vnode 1 as vnode 0',
  'unit-forgets-field': 'lib/hcl/units/base.ts: rtc.cmos restore forgets the selected CMOS index',
  'shim-drops-host-cmdline': 'lib/shim/cmdline.ts: append-chosen ignores the host bootargs',
  'shim-persists-short-map': 'harness/servicing.ts: a VM that was itself restored persists its partition map without its last VTL2 range',
  'oracle-ignores-mmio': 'harness/oracle.ts: the consistency oracle does not compare MMIO',
  'sidecar-ignores-outstanding-io': 'lib/shim/sidecarplan.ts: CPUs with outstanding I/O are left in sidecar on restore',
  'gc-drops-live-blob': 'lib/store/maintenance.ts: gc sweeps the first live blob it meets (passed in as OpenOptions.seams by properties/props/store-commands.ts, not read by lib/)',
  'reader-skips-bounds': 'lib/bytes/reader.ts: ByteReader lets a short read through (a RangeError escapes)',
} as const;

/** The name of a planted defect. */
export type Plant = keyof typeof PLANTS;

/** `name` as a planted defect; undefined when it names none (a record from another version). */
export function asPlant(name: string): Plant | undefined {
  return Object.hasOwn(PLANTS, name) ? (name as Plant) : undefined;
}
