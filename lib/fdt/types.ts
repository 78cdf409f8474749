import type { Plant } from '../plant.ts';

/**
 * Flattened device tree (devicetree specification v0.4, DTB version 17, last compatible 16).
 * The tree is plain data: nodes hold properties in file order and children in file order.
 * Property values are raw big-endian bytes, exactly as in the blob.
 */

/** One property: a name and its raw value bytes. */
export interface FdtProperty {
  name: string;
  value: Uint8Array;
}

/** One node. The root's name is "". Names include the unit address ("cpu@1"). */
export interface FdtNode {
  name: string;
  properties: FdtProperty[];
  children: FdtNode[];
}

/** One memory reservation block entry. */
export interface FdtReservation {
  address: bigint;
  size: bigint;
}

/** A whole device tree blob. */
export interface Fdt {
  /** Header `boot_cpuid_phys` (offset 0x1c). */
  bootCpuidPhys: number;
  /** Memory reservation block entries, in order (the terminating 0,0 entry is not listed). */
  reservations: FdtReservation[];
  /** The root node. */
  root: FdtNode;
}

/** Reader limits; every one has a default (see `DEFAULT_FDT_LIMITS`). */
export interface FdtReadOptions {
  /** Maximum node nesting depth. */
  maxDepth: number;
  /** Maximum accepted `totalsize` in bytes. */
  maxTotalSize: number;
  /** A defect a test plants in the reader's byte readers (lib/plant.ts); never set in production. */
  plant?: Plant | undefined;
}
