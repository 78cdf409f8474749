// Flattened device tree (DTB v17): types, tree builders and accessors, reader, writer, DTS printer.

// types
export type { Fdt, FdtNode, FdtProperty, FdtReadOptions, FdtReservation } from './types.ts';

// building and reading trees
export { fdtNode, prop, findNode, findProp, propU32, propU64, propCells, propReg, propString, propStrings, propIs } from './node.ts';

// blob codec
export { readFdt, DEFAULT_FDT_LIMITS, FDT_MAGIC, FDT_HEADER_SIZE, FDT_VERSION, FDT_LAST_COMP_VERSION, FDT_TOKEN } from './reader.ts';
export { writeFdt } from './writer.ts';
export { FdtBuilder } from './builder.ts';

// source text
export { printDts, formatValue, guessValueType } from './dts.ts';
