/**
 * Planted defects: named, realistic bugs that a test switches on at one place in the real code
 * path, to show that the property or check written for that bug catches it. A test passes the
 * name down explicitly (`BootOptions.plant`, `RestoreOptions.plant`, the unit context); the CLI
 * never does and nothing reads one from the environment, so production runs cannot reach them.
 * properties/seams.ts says where each one sits and what it breaks.
 */

/** Every planted defect, by name. */
const PLANTS = [
  'shim-ignores-vnode',
  'unit-forgets-field',
  'shim-drops-host-cmdline',
  'shim-persists-short-map',
  'oracle-ignores-mmio',
  'sidecar-ignores-outstanding-io',
  'reader-skips-bounds',
  'gc-drops-live-blob',
] as const;

/** The name of a planted defect. */
export type Plant = (typeof PLANTS)[number];

/** `name` as a planted defect; undefined when it names none (a record from another version). */
export function asPlant(name: string): Plant | undefined {
  return PLANTS.find((p) => p === name);
}
