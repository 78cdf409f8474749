// Byte-level helpers shared by every binary codec.
export { ByteReader } from './reader.ts';
export { ByteWriter } from './writer.ts';
export { crc32, sha256, sha256Hex, toHex } from './hash.ts';
