import type { Command } from 'commander';
import { HclError } from '../../lib/errors.ts';
import { aboutFile, igvmMagic, readInput, refuseIgnored, writeOutput } from './io.ts';
import { action, jsonChunks, printJson } from './run.ts';

/**
 * The `igvm` command group, created on first use. Other modules add subcommands to the same group
 * by calling `igvmCommand(program).command('build')...` from their own `register(program)` (e.g.
 * harness/commands/igvm-build.ts, with its own line in cli.ts's modules); load order does not matter.
 */
export function igvmCommand(program: Command): Command {
  return program.commands.find((c) => c.name() === 'igvm') ?? program.command('igvm').description('IGVM files (igvm crate 0.4 format)');
}

/** `hclckpt igvm decode|encode|inspect`. */
export function register(program: Command): void {
  const igvm = igvmCommand(program);
  igvm.command('decode')
    .description('an IGVM file as JSON (every header, data blobs as hex with their file offsets)')
    .argument('<file>', 'an IGVM file')
    .option('-o, --output <file>', 'write the JSON here instead of stdout (a new file, or --force)')
    .option('--force', 'overwrite an existing --output file')
    .action(action(async (file: string, opts: { output?: string; force?: boolean }) => {
      refuseIgnored('igvm decode', '--force', opts.force === true, '--output', opts.output !== undefined);
      const { readIgvm, igvmToJson } = await import('../../lib/igvm/index.ts');
      const bytes = await readInput(file, { magic: await igvmMagic() });
      const json = igvmToJson(await aboutFile(file, () => readIgvm(bytes)), bytes);
      if (opts.output === undefined) await printJson(json);
      else await writeOutput(opts.output, jsonChunks(json), opts.force === true);
    }));
  igvm.command('encode')
    .description('an IGVM file from its JSON form (as written by `igvm decode`)')
    .argument('<json>', 'the JSON file')
    .requiredOption('-o, --output <file>', 'the IGVM file to write (a new file, or --force)')
    .option('--force', 'overwrite an existing --output file')
    .action(action(async (file: string, opts: { output: string; force?: boolean }) => {
      const { writeIgvm, igvmFromJson } = await import('../../lib/igvm/index.ts');
      const text = new TextDecoder().decode(await readInput(file));
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (e) {
        throw new HclError('IGVM_JSON_INVALID', `${file}: $: not JSON: ${(e as Error).message}`, { cause: e, context: { path: '$' } });
      }
      const bytes = await aboutFile(file, () => writeIgvm(igvmFromJson(json)));
      await writeOutput(opts.output, bytes, opts.force === true);
    }));
  igvm.command('inspect')
    .description('platforms, page layout per platform, parameter areas, VP contexts and sizes')
    .argument('<file>', 'an IGVM file')
    .option('--json', 'print the summary as JSON')
    .action(action(async (file: string, opts: { json?: boolean }) => {
      const { readIgvm, summarizeIgvm, renderIgvmSummary } = await import('../../lib/igvm/index.ts');
      const bytes = await readInput(file, { magic: await igvmMagic() });
      const summary = summarizeIgvm(await aboutFile(file, () => readIgvm(bytes)), bytes);
      if (opts.json === true) await printJson(summary);
      else process.stdout.write(renderIgvmSummary(summary));
    }));
}
