import { HclError } from '../lib/errors.ts';
import type { NamedProperty } from './define.ts';
import { codecMutation } from './props/codecs.ts';
import { changingOverridesRefused, preservingOverrides, restoreProves, topologyDiscovered } from './props/pipeline.ts';
import { servicingCycles, sidecarSplit } from './props/servicing.ts';
import { storeModel, storeModelAsync } from './props/store.ts';

/**
 * Every named property of hclckpt, from the pipeline's stages to the store and the decoders. The uvu files in
 * properties/ run each at its default count; `hclckpt prop` runs them by name.
 */
export const SUITE: readonly NamedProperty[] = [
  topologyDiscovered,
  restoreProves,
  preservingOverrides,
  changingOverridesRefused,
  servicingCycles,
  sidecarSplit,
  storeModel,
  storeModelAsync,
  codecMutation,
];

/** The property called `name`; USAGE listing the names when there is none. */
export function findProperty(name: string): NamedProperty {
  const p = SUITE.find((x) => x.name === name);
  if (p === undefined) throw new HclError('USAGE', `property '${name}': no such property (one of ${SUITE.map((x) => x.name).join(', ')})`);
  return p;
}
