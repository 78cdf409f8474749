import type { Command } from 'commander';
import { aboutFile, fdtMagic, readInput } from './io.ts';
import { action, printJson, writeChunks } from './run.ts';

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
        const bytes = await readInput(file, { magic: await fdtMagic() });
        const fdt = await aboutFile(file, () => readFdt(bytes));
        if (opts.json === true) await printJson(fdt);
        else await writeChunks(process.stdout, [printDts(fdt)]);
      }),
    );
}
