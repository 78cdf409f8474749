import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { NamedProperty } from './define.ts';

/**
 * The two uvu tests every named property gets: it holds at the default count, and with its
 * planted defect (lib/plant.ts) it fails and shrinks to a counterexample no bigger than `maxSize`.
 */

/** Seed of the planted-defect runs, fixed so the shrink bound is checked on the same case every time. */
export const DEFECT_SEED = 42;

/** VP cap of the planted-defect runs. */
export const DEFECT_MAX_VPS = 8;

/** Registers "holds" and "catches its defect" tests for `p`. */
export function propertyTests(p: NamedProperty, maxSize: number, defectRuns = 200): void {
  // Defect runs boot at most DEFECT_MAX_VPS VPs: shrinking through the config's chained
  // arbitraries costs one boot per candidate, and the defects do not need large VMs.
  test(`${p.name}: ${p.description}`, async () => {
    const d = await p.run();
    assert.ok(!d.failed, fc.defaultReportMessage(d) ?? `${p.name} failed`);
  });

  test(`${p.name}: catches ${p.seam} and shrinks to size <= ${maxSize}`, async () => {
    const d = await p.run({ numRuns: defectRuns, seed: DEFECT_SEED, maxVps: DEFECT_MAX_VPS, plant: p.seam });
    assert.ok(d.failed, `${p.name} did not catch ${p.seam} in ${d.numRuns} runs`);
    const ce = d.counterexample;
    assert.ok(ce !== null);
    const size = p.size(ce);
    assert.ok(size <= maxSize, `${p.name}: counterexample of size ${size} after ${d.numShrinks} shrinks (want <= ${maxSize}): ${fc.stringify(ce).slice(0, 400)}`);
  });
}
