import type { Command } from 'commander';
import { HclError, isHclError } from '../../lib/errors.ts';
import { readInput } from './options.ts';
import { action, printJson } from './run.ts';

/** `hclckpt dt dump FILE.dtb [--json]`: a device tree blob as DTS text (dtc's) or a JSON tree. */
export function register(program: Command): void {
  const dt = program.command('dt').description('device tree blobs');
  dt.command('dump')
    .description('print a DTB as device tree source (as `dtc -I dtb -O dts` does), or as JSON')
    .argument('<file>', 'a flattened device tree blob (.dtb)')
    .option('--json', 'print the tree as JSON (property values as hex)')
    .action(
      action(async (file: string, opts: { json?: boolean }) => {
        const { readFdt, printDts } = await import('../../lib/fdt/index.ts');
        const bytes = await readInput(file);
        let fdt;
        try {
          fdt = readFdt(bytes);
        } catch (e) {
          if (isHclError(e)) throw new HclError(e.code, `${file}: ${e.message}`, { cause: e });
          throw e;
        }
        if (opts.json === true) printJson(fdt);
        else process.stdout.write(printDts(fdt));
      }),
    );
}
