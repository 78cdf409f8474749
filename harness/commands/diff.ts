import type { Command } from 'commander';
import type { DecodedSnapshot } from '../../lib/diff/index.ts';
import { HclError } from '../../lib/errors.ts';
import { action, printJson } from './run.ts';
import { storeOption, withStore, type StoreOptions } from './store.ts';

/**
 * `hclckpt diff A B [--json | --unified]`: what changed between two snapshots (store refs or
 * `.hclsnap` files), of the same or different schema generations.
 */

/** True when `ref` names an `.hclsnap` file rather than a store ref. */
export function isArchiveRef(ref: string): boolean {
  return ref.endsWith('.hclsnap') || ref.includes('/');
}

/** Loads and decodes a snapshot for diffing: an `.hclsnap` file, else a ref in the store. */
export async function loadSnapshotForDiff(ref: string, opts: StoreOptions = {}): Promise<DecodedSnapshot> {
  const { decodeSnapshot } = await import('../../lib/diff/index.ts');
  if (isArchiveRef(ref)) {
    const { readArchive } = await import('../../lib/store/index.ts');
    return decodeSnapshot(await readArchive(ref, ...(opts.maxSnapshotBytes === undefined ? [] : [opts.maxSnapshotBytes])));
  }
  return withStore(opts, async (s) => decodeSnapshot(await s.getSnapshot(ref)), { readOnly: true });
}

/** Registers `diff`. */
export function register(program: Command): void {
  storeOption(program.command('diff').description('show what changed between two snapshots (older generation upgraded first)'))
    .argument('<a>', 'snapshot ref (id prefix, NAME, NAME@N) or .hclsnap file')
    .argument('<b>', 'snapshot ref or .hclsnap file')
    .option('--json', 'print a machine-readable list of changes')
    .option('--unified', 'print a unified diff of the canonical JSON rendering')
    .option('--context <n>', 'context lines for --unified', '3')
    .option('--exit-code', 'exit 1 when the snapshots differ')
    .action(action(async (a: string, b: string, opts: StoreOptions & { json?: boolean; unified?: boolean; context: string; exitCode?: boolean }) => {
      if (opts.json === true && opts.unified === true) throw new HclError('USAGE', 'diff: --json and --unified exclude each other');
      const context = Number(opts.context);
      if (!Number.isInteger(context) || context < 0) throw new HclError('USAGE', `diff: --context ${JSON.stringify(opts.context)} is not a non-negative integer`);
      const lib = await import('../../lib/diff/index.ts');
      const [sa, sb] = [await loadSnapshotForDiff(a, opts), await loadSnapshotForDiff(b, opts)];
      const d = lib.diffSnapshots(sa, sb);
      if (opts.unified === true) {
        const al = lib.alignSnapshots(sa, sb);
        for (const u of al.upgraded) process.stderr.write(`hclckpt: note: ${u.unit} on side ${u.side} upgraded from generation ${u.from} to ${u.to}\n`);
        process.stdout.write(lib.renderUnified(al.a, al.b, [a, b], context));
      } else if (opts.json === true) {
        printJson(lib.diffToJson(d));
      } else {
        process.stdout.write(lib.renderText(d));
      }
      if (opts.exitCode === true && !lib.isEmptyDiff(d)) process.exitCode = 1;
    }));
}
