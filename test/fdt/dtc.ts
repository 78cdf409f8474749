// Test helpers: run the real dtc (device-tree-compiler) on sources and blobs.
import { spawnSync } from 'node:child_process';

/** Result of one dtc run. */
export interface DtcResult {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

function dtc(args: string[], input: Uint8Array | string): DtcResult {
  const r = spawnSync('dtc', ['-q', ...args], { input });
  if (r.error !== undefined) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

/** Compiles device tree source to a blob with dtc (of the given DTB version); throws when dtc fails. */
export function dtsToDtb(source: string, version = 17): Uint8Array {
  const r = dtc(['-I', 'dts', '-O', 'dtb', '-V', String(version), '-'], source);
  if (r.status !== 0) throw new Error(`dtc failed: ${r.stderr}`);
  return new Uint8Array(r.stdout);
}

/** Decompiles a blob with dtc, keeping warnings (no -q) so tests can require there are none. */
export function dtbToDts(blob: Uint8Array): { status: number | null; text: string; stderr: string } {
  const r = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', '-'], { input: blob });
  if (r.error !== undefined) throw r.error;
  return { status: r.status, text: r.stdout.toString(), stderr: r.stderr.toString() };
}
