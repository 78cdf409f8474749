import type { Command } from 'commander';
import type { VmConfig } from '../../lib/config/index.ts';

/** `--config FILE | --preset NAME` as every VM command takes them. */
export interface ConfigOptions {
  config?: string;
  preset?: string;
}

/** Adds `--config` and `--preset` to a command. */
export function configOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'VM configuration JSON (see `hclckpt init`)')
    .option('--preset <name>', 'small, numa, large, arm64-virt or snp (default small)');
}

/** The VM configuration the options name: a file, a preset, or the `small` preset. */
export async function configFrom(opts: ConfigOptions): Promise<VmConfig> {
  const { loadConfig, presetConfig } = await import('../../lib/config/index.ts');
  const { HclError } = await import('../../lib/errors.ts');
  if (opts.config !== undefined && opts.preset !== undefined) throw new HclError('USAGE', 'give --config or --preset, not both');
  return opts.config !== undefined ? loadConfig(opts.config) : presetConfig(opts.preset ?? 'small');
}

/** Collects a repeatable option (`--set A=1 --set B=2`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Reads a whole file; FILE_NOT_FOUND / FILE_IO name the path. */
export async function readInput(file: string): Promise<Uint8Array> {
  const { readFile } = await import('node:fs/promises');
  const { HclError } = await import('../../lib/errors.ts');
  try {
    return new Uint8Array(await readFile(file));
  } catch (e) {
    const code = (e as { code?: unknown }).code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_IO';
    throw new HclError(code, `${file}: ${code === 'FILE_NOT_FOUND' ? 'no such file' : String((e as Error).message)}`, { cause: e });
  }
}

/** Progress lines go to stderr, and only on a TTY (scripts see clean output). */
export function progress(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`${text}\n`);
}
