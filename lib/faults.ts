/**
 * The one module that reads `HCLCKPT_FAULT`: the user-facing fault points of the reliability
 * suite, the way OpenHCL reads `OPENHCL_TEST_CONFIG` once at its edge. The variable holds a
 * comma-separated list of names; unknown names are ignored. Nothing else in lib/ reads the
 * environment to decide behaviour.
 */

/** Every fault point, each documented in the README's reliability section. */
export const FAULT_NAMES = ['save-fail', 'save-stuck', 'store-write-fail', 'restore-fail', 'restore-stuck'] as const;

/** One fault point. */
export type FaultName = (typeof FAULT_NAMES)[number];

/** Whether fault `name` is switched on by `HCLCKPT_FAULT` in this process's environment. */
export function faultActive(name: FaultName): boolean {
  const raw = process.env['HCLCKPT_FAULT'];
  return raw !== undefined && raw.split(',').some((part) => part.trim() === name);
}
