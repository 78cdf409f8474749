import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { HclError, isHclError } from '../../lib/errors.ts';
import { action, printJson } from './run.ts';

/** Reads a whole file; FILE_NOT_FOUND / FILE_IO name the path. */
async function readInput(file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(file));
  } catch (e) {
    const code = (e as { code?: unknown }).code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_IO';
    throw new HclError(code, `${file}: ${code === 'FILE_NOT_FOUND' ? 'no such file' : String((e as Error).message)}`, { cause: e });
  }
}

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
