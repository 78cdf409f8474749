import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { HclError, isHclError } from '../../lib/errors.ts';
import { readInput } from './options.ts';
import { action, printJson, toJson } from './run.ts';

/**
 * The `igvm` command group, created on first use. Other modules add subcommands to the same group
 * by calling `igvmCommand(program).command('build')...` from their own `register(program)` (e.g.
 * harness/commands/igvm-build.ts, with its own line in cli.ts's modules); load order does not matter.
 */
export function igvmCommand(program: Command): Command {
  return program.commands.find((c) => c.name() === 'igvm') ?? program.command('igvm').description('IGVM files (igvm crate 0.4 format)');
}

async function writeOutput(file: string, data: Uint8Array | string): Promise<void> {
  try {
    await writeFile(file, data);
  } catch (e) {
    throw new HclError('FILE_IO', `${file}: ${String((e as Error).message)}`, { cause: e });
  }
}

/** Runs `fn`, prefixing any HclError message with the file it was about. */
async function about<T>(file: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isHclError(e)) throw new HclError(e.code, `${file}: ${e.message}`, { cause: e, ...(e.context === undefined ? {} : { context: { ...e.context } }) });
    throw e;
  }
}

/** `hclckpt igvm decode|encode|inspect`. */
export function register(program: Command): void {
  const igvm = igvmCommand(program);
  igvm.command('decode')
    .description('an IGVM file as JSON (every header, data blobs as hex with their file offsets)')
    .argument('<file>', 'an IGVM file')
    .option('-o, --output <file>', 'write the JSON here instead of stdout')
    .action(action(async (file: string, opts: { output?: string }) => {
      const { readIgvm, igvmToJson } = await import('../../lib/igvm/index.ts');
      const bytes = await readInput(file);
      const json = igvmToJson(await about(file, () => readIgvm(bytes)), bytes);
      if (opts.output === undefined) printJson(json);
      else await writeOutput(opts.output, `${toJson(json)}\n`);
    }));
  igvm.command('encode')
    .description('an IGVM file from its JSON form (as written by `igvm decode`)')
    .argument('<json>', 'the JSON file')
    .requiredOption('-o, --output <file>', 'the IGVM file to write')
    .action(action(async (file: string, opts: { output: string }) => {
      const { writeIgvm, igvmFromJson } = await import('../../lib/igvm/index.ts');
      const text = new TextDecoder().decode(await readInput(file));
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (e) {
        throw new HclError('IGVM_JSON_INVALID', `${file}: $: not JSON: ${(e as Error).message}`, { cause: e, context: { path: '$' } });
      }
      const bytes = await about(file, () => writeIgvm(igvmFromJson(json)));
      await writeOutput(opts.output, bytes);
    }));
  igvm.command('inspect')
    .description('platforms, page layout per platform, parameter areas, VP contexts and sizes')
    .argument('<file>', 'an IGVM file')
    .option('--json', 'print the summary as JSON')
    .action(action(async (file: string, opts: { json?: boolean }) => {
      const { readIgvm, summarizeIgvm, renderIgvmSummary } = await import('../../lib/igvm/index.ts');
      const bytes = await readInput(file);
      const summary = summarizeIgvm(await about(file, () => readIgvm(bytes)), bytes);
      if (opts.json === true) printJson(summary);
      else process.stdout.write(renderIgvmSummary(summary));
    }));
}
