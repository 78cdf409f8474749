import type { Command } from 'commander';
import type { DecodedSnapshot } from '../../lib/diff/index.ts';
import { HclError } from '../../lib/errors.ts';
import { archiveMagic, intArg, readInput, refuseIgnored } from './io.ts';
import { action, printJson } from './run.ts';
import { storeOption, withStore, type StoreOptions } from './store.ts';

/**
 * `hclckpt diff A B [--json | --unified]`: what changed between two snapshots (store refs or
 * `.hclsnap` files), of the same or different schema generations.
 */

/**
 * True when `ref` names an `.hclsnap` file rather than a store ref. The rule (README "Refs and
 * files"): a ref with a '/' or ending in `.hclsnap` is always a file; otherwise an existing
 * regular file whose first bytes are the archive magic is a file; anything else is a store ref.
 */
export async function isArchiveRef(ref: string): Promise<boolean> {
  if (ref.endsWith('.hclsnap') || ref.includes('/')) return true;
  const { ARCHIVE_MAGIC } = await import('../../lib/store/index.ts');
  let head: Uint8Array;
  try {
    head = await readInput(ref, { header: ARCHIVE_MAGIC.length });
  } catch {
    return false; // no such file (or not a regular one): a store ref
  }
  return head.length === ARCHIVE_MAGIC.length && ARCHIVE_MAGIC.every((b, i) => head[i] === b);
}

/** Loads and decodes a snapshot for diffing: an `.hclsnap` file, else a ref in the store. */
export async function loadSnapshotForDiff(ref: string, opts: StoreOptions = {}): Promise<DecodedSnapshot> {
  const { decodeSnapshot } = await import('../../lib/diff/index.ts');
  if (await isArchiveRef(ref)) {
    const { parseArchive } = await import('../../lib/store/index.ts');
    return decodeSnapshot(parseArchive(await readInput(ref, { magic: await archiveMagic() }), ref, ...(opts.maxSnapshotBytes === undefined ? [] : [opts.maxSnapshotBytes])));
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
    .option('--context <n>', 'context lines for --unified', intArg('diff --context', 0, 1_000_000), 3)
    .option('--exit-code', 'exit 1 when the snapshots differ')
    .action(action(async (a: string, b: string, opts: StoreOptions & { json?: boolean; unified?: boolean; context: number; exitCode?: boolean }, cmd: Command) => {
      if (opts.json === true && opts.unified === true) throw new HclError('USAGE', 'diff: --json and --unified exclude each other');
      refuseIgnored('diff', '--context', cmd.getOptionValueSource('context') === 'cli', '--unified', opts.unified === true);
      const context = opts.context;
      const lib = await import('../../lib/diff/index.ts');
      const [sa, sb] = [await loadSnapshotForDiff(a, opts), await loadSnapshotForDiff(b, opts)];
      const d = lib.diffSnapshots(sa, sb);
      if (opts.unified === true) {
        const al = lib.alignSnapshots(sa, sb);
        for (const u of al.upgraded) process.stderr.write(`hclckpt: note: ${u.unit} on side ${u.side} upgraded from generation ${u.from} to ${u.to}\n`);
        process.stdout.write(lib.renderUnified(lib.viewSnapshot(al.a), lib.viewSnapshot(al.b), [a, b], context));
      } else if (opts.json === true) {
        await printJson(lib.diffToJson(d));
      } else {
        process.stdout.write(lib.renderText(d, (await import('./colour.ts')).useColour()));
      }
      if (opts.exitCode === true && !lib.isEmptyDiff(d)) process.exitCode = 1;
    }));
}
