import type { Command } from 'commander';
import { HclError } from '../../lib/errors.ts';
import { readInput, refuseIgnored, writeOutput } from './io.ts';
import { action, printJson } from './run.ts';

/**
 * `hclckpt schema dump [-o FILE]` and `hclckpt schema check OLD NEW [--json]`: the saved-state
 * schema set as stable JSON, and the compatibility check between two such dumps (DESIGN.md §3).
 */

async function readText(file: string): Promise<string> {
  return new TextDecoder().decode(await readInput(file));
}

/** Registers the `schema` command group. */
export function register(program: Command): void {
  const schema = program.command('schema').description('saved-state schemas: dump the current set, check two dumps for breaking changes');

  schema.command('dump')
    .description('write every unit\'s current schema, generation and package as stable JSON')
    .option('-o, --output <file>', 'write to FILE instead of stdout (a new file, or --force)')
    .option('--force', 'overwrite an existing --output file')
    .action(action(async (opts: { output?: string; force?: boolean }) => {
      refuseIgnored('schema dump', '--force', opts.force === true, '--output', opts.output !== undefined);
      const { schemaDumpWithReach } = await import('../../lib/diff/index.ts');
      const text = `${JSON.stringify(schemaDumpWithReach(), null, 2)}\n`;
      if (opts.output === undefined) {
        process.stdout.write(text);
        return;
      }
      await writeOutput(opts.output, text, opts.force === true);
    }));

  schema.command('check')
    .description('report every breaking change from OLD to NEW (exit 1 when anything breaks)')
    .argument('<old>', 'schema dump of the older release')
    .argument('<new>', 'schema dump of the newer release')
    .option('--json', 'print the report as JSON')
    .action(action(async (oldFile: string, newFile: string, opts: { json?: boolean }) => {
      const { checkSchemaCompat, parseSchemaDump, renderSchemaReport } = await import('../../lib/diff/index.ts');
      const report = checkSchemaCompat(parseSchemaDump(await readText(oldFile), oldFile), parseSchemaDump(await readText(newFile), newFile));
      if (opts.json === true) await printJson(report);
      else process.stdout.write(renderSchemaReport(report, (await import('./colour.ts')).useColour()));
      if (!report.compatible) {
        // The report above is the detail; the error line names the files and the count.
        throw new HclError('SCHEMA_INCOMPATIBLE', `schema check ${oldFile} → ${newFile}: ${report.breaking.length} breaking change${report.breaking.length === 1 ? '' : 's'}`);
      }
    }));
}
