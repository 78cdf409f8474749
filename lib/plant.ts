/**
 * Planted defects passed down by a test (never read from the environment): a property test
 * hands one to `boot`/`restoreSnapshot` as `plant` to show that it catches the bug it is there
 * for. properties/seams.ts says where each sits and what it breaks. The CLI never sets one.
 */

/** Defects that are passed down as a `plant` option (the rest are still HCLCKPT_TEST_SEAM names). */
export const PLANTS = ['shim-persists-short-map', 'oracle-ignores-mmio'] as const;

/** The name of a planted defect passed down the code path. */
export type Plant = (typeof PLANTS)[number];
