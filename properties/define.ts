import fc from 'fast-check';
import type { Plant } from '../lib/plant.ts';
import { propMaxVps } from './vm.ts';

/**
 * What a named property is (properties/suite.ts lists them): run by the uvu files in properties/ at a
 * modest count and by `hclckpt prop` by name. Each entry says which planted defect (lib/plant.ts) it
 * is there to catch and how to measure the size of a counterexample, so tests can check that a
 * failure shrinks to a small case.
 */

/** How one run of a property is parameterised. */
export interface PropParams {
  /** Runs; default the property's `defaultRuns` scaled by HCLCKPT_PROP_RUNS / 25. */
  numRuns?: number;
  seed?: number;
  /** fast-check replay path (with `seed`). */
  path?: string;
  /** Called before every predicate execution (runs and shrink steps): a progress hook. */
  onRun?: () => void;
  /** VP cap for properties that boot VMs; default `propMaxVps()` (HCLCKPT_PROP_MAXVPS or 64). */
  maxVps?: number;
  /** fc.commands replay path (printed in a commands counterexample), needed with `path` to replay model runs. */
  replayPath?: string;
  /** Report the first failure without shrinking. */
  endOnFailure?: boolean;
  /** A defect (lib/plant.ts) planted for this run; tests and replays only. */
  plant?: Plant;
}

/** A property of hclckpt, built fresh for every run. */
export interface NamedProperty {
  name: string;
  /** One line: what must hold. */
  description: string;
  /** Runs under `npm test` (HCLCKPT_PROP_RUNS scales it). */
  defaultRuns: number;
  /** The defect (lib/plant.ts) that this property must catch. */
  seam: Plant;
  /** Size of a counterexample (VPs, steps, commands…), for shrink checks. */
  size: (counterexample: unknown[]) => number;
  /** The fast-check property, for configs of at most `size.maxVps` VPs, with `plant` passed down the code it runs. */
  build: (size: { maxVps: number; replayPath?: string; plant?: Plant }) => fc.IRawProperty<unknown[]>;
  /** Runs it with fast-check and returns the details (never throws on failure). */
  run: (params?: PropParams) => Promise<fc.RunDetails<unknown[]>>;
}

/** Scale a property's default run count by HCLCKPT_PROP_RUNS relative to the laws' 25. */
export function scaledRuns(defaultRuns: number): number {
  const n = Number(process.env['HCLCKPT_PROP_RUNS']);
  return Number.isSafeInteger(n) && n > 0 ? Math.max(1, Math.round((defaultRuns * n) / 25)) : defaultRuns;
}

/** Makes a NamedProperty from its parts; `run` is the one place fast-check is called. */
export function define(p: Omit<NamedProperty, 'run'>): NamedProperty {
  return {
    ...p,
    run: async (params = {}) => {
      const prop = p.build({
        maxVps: params.maxVps ?? propMaxVps(),
        ...(params.replayPath === undefined ? {} : { replayPath: params.replayPath }),
        ...(params.plant === undefined ? {} : { plant: params.plant }),
      });
      const fcParams: fc.Parameters<unknown[]> = {
        numRuns: params.numRuns ?? scaledRuns(p.defaultRuns),
        ...(params.seed === undefined ? {} : { seed: params.seed }),
        ...(params.path === undefined ? {} : { path: params.path }),
        ...(params.endOnFailure === true ? { endOnFailure: true } : {}),
        ...(params.onRun === undefined ? {} : { plugins: [fc.beforeEach(params.onRun) as fc.Plugin<unknown[]>] }),
      };
      return prop.isAsync() ? fc.check(prop as fc.IAsyncProperty<unknown[]>, fcParams) : fc.check(prop as fc.IProperty<unknown[]>, fcParams);
    },
  };
}
