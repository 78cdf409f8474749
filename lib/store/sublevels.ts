import type { AbstractSublevel } from 'abstract-level';
import type { StoreDb } from './backend.ts';
import type { Manifest } from './types.ts';

/**
 * The store's storage shapes, shared by store.ts and the whole-store walks (maintenance.ts,
 * read.ts) so those depend on these types, not on the store class: no import cycle.
 */

/** One sublevel of the store's database, keys and values as bytes. */
export type Sub = AbstractSublevel<StoreDb, unknown, Uint8Array, Uint8Array>;

/** One write of a batch; `value` absent means delete. */
export interface WriteOp { sub: Sub; key: Uint8Array; value?: Uint8Array }

/** The store's sublevels (keys.ts documents their layout). */
export interface Sublevels { manifests: Sub; blobs: Sub; names: Sub; runs: Sub; meta: Sub }

/** What the whole-store walks need of a store: its sublevels, its label, and checked manifests. */
export interface StoreView {
  readonly location: string;
  readonly sub: Sublevels;
  loadManifest(id: string): Promise<{ manifest: Manifest; bytes: Uint8Array }>;
}

/**
 * Planted defects for tests only, passed in through `OpenOptions.seams` (lib/plant.ts lists
 * them); production code never sets one, and no environment variable can.
 */
export interface StoreSeams {
  /** gc sweeps the first live blob it meets. */
  gcDropsLiveBlob?: boolean;
}
