import type { Command } from 'commander';
import type { Manifest, SnapshotStore } from '../../lib/store/index.ts';
import { action, printJson } from './run.ts';
import { intArg } from './io.ts';

/** Options every store command accepts. */
export interface StoreOptions {
  /** Store directory (`--store DIR`); default HCLCKPT_STORE, else ./.hclckpt. */
  store?: string;
  /** Largest logical snapshot size read or written (`--max-snapshot-bytes`). */
  maxSnapshotBytes?: number;
}

/** Adds `--store DIR` and `--max-snapshot-bytes N` to a command; every command that touches the store uses this. */
export function storeOption(cmd: Command): Command {
  return cmd
    .option('--store <dir>', 'snapshot store directory (default: $HCLCKPT_STORE or ./.hclckpt)')
    .option('--max-snapshot-bytes <n>', 'largest logical snapshot size read, saved or imported (default 1 GiB)', intArg('--max-snapshot-bytes', 1));
}

/**
 * The store directory a command uses: `--store`, else HCLCKPT_STORE, else the default. Read here,
 * at the CLI edge, so no environment variable decides anything inside lib/.
 */
export function resolveStoreDir(opts: StoreOptions): string | undefined {
  if (opts.store !== undefined) return opts.store;
  const env = process.env['HCLCKPT_STORE'];
  return env === undefined || env === '' ? undefined : env;
}

/**
 * Opens the store named by the options, runs `fn`, and always closes the store. A read-only
 * command (ls, show, verify, diff, export, prop --list) never creates a store: STORE_NOT_FOUND.
 */
export async function withStore<T>(opts: StoreOptions, fn: (store: SnapshotStore) => Promise<T>, mode: { readOnly?: boolean } = {}): Promise<T> {
  const { openStore } = await import('../../lib/store/index.ts');
  const store = await openStore(resolveStoreDir(opts), {
    readOnly: mode.readOnly === true,
    ...(opts.maxSnapshotBytes === undefined ? {} : { maxSnapshotBytes: opts.maxSnapshotBytes }),
  });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Bytes as a short human figure (1023 B, 4.0 KiB, 2.5 MiB). */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** The one-line summary of a snapshot that `ls --json` prints. */
function summary(m: Manifest) {
  const generation = m.info['generation'];
  return {
    id: m.id, name: m.name, seq: m.seq, time: m.time, parent: m.parent, tool: m.tool,
    bytes: m.parts.reduce((n, p) => n + p.size, 0), parts: m.parts.length,
    generation: generation === undefined ? null : generation,
  };
}

/** `ls`, `verify`, `rm`, `gc`, `export`, `import`: the snapshot store commands (DESIGN.md §4). */
export function register(program: Command): void {
  storeOption(program.command('ls').description('list the snapshots in the store (only those named NAME when given)'))
    .argument('[name]', 'only snapshots with this name')
    .option('--json', 'print the list as JSON')
    .action(action(async (name: string | undefined, opts: StoreOptions & { json?: boolean }) => {
      const { list, missing } = await withStore(opts, async (s) => ({ list: await s.list(), missing: (await s.missing()).missing }), { readOnly: true });
      const rows = list.filter((m) => name === undefined || m.name === name).map(summary);
      // A snapshot the journal says was committed but the store lost is a failed check, not
      // silence; it goes to stderr so `--json` keeps its shape (verify --json lists it too).
      if (missing.length > 0) process.exitCode = 1;
      for (const m of missing) process.stderr.write(`hclckpt: ${m.id.slice(0, 12)} ${m.name}@${m.seq}: committed but missing from the store (see hclckpt store repair)\n`);
      if (opts.json === true) return printJson(rows);
      const { default: Table } = await import('cli-table3');
      const table = new Table({ head: ['id', 'name', 'time', 'bytes', 'generation'], style: { head: [], border: [] } });
      for (const r of rows) table.push([r.id.slice(0, 12), `${r.name}@${r.seq}`, r.time, formatBytes(r.bytes), r.generation === null ? '-' : String(r.generation)]);
      process.stdout.write(rows.length === 0 ? `no snapshots${name === undefined ? '' : ` named ${name}`}\n` : `${table.toString()}\n`);
    }));

  storeOption(program.command('log').description('the parent chain of a snapshot: each servicing cycle back to the first save'))
    .argument('<ref>', 'id prefix, NAME or NAME@N (NAME: its newest)')
    .option('--json', 'print the chain as JSON, newest first')
    .action(action(async (ref: string, opts: StoreOptions & { json?: boolean }) => {
      const chain = await withStore(opts, async (s) => {
        const byId = new Map((await s.list()).map((m) => [m.id, m]));
        const out = [(await s.getSnapshot(ref)).manifest];
        // The store refuses a parent that is not a stored id, but a removed parent ends the chain.
        for (let p = out[0]!.parent; p !== null && byId.has(p) && out.length <= byId.size; p = byId.get(p)!.parent) out.push(byId.get(p)!);
        return out;
      });
      const rows = chain.map(summary);
      if (opts.json === true) return printJson(rows);
      for (const r of rows) process.stdout.write(`${r.id.slice(0, 12)} ${r.name}@${r.seq} ${r.time} ${formatBytes(r.bytes)}${r.parent !== null && !chain.some((m) => m.id === r.parent) ? ` (parent ${r.parent.slice(0, 12)} removed)` : ''}\n`);
    }));

  storeOption(program.command('verify').description('re-hash every manifest and blob (exit 1 on any problem)'))
    .argument('[ref]', 'only this snapshot: id prefix, NAME or NAME@N')
    .option('--json', 'print the report as JSON')
    .action(action(async (ref: string | undefined, opts: StoreOptions & { json?: boolean }) => {
      const report = await withStore(opts, (s) => s.verify(ref), { readOnly: true });
      if (report.problems.length > 0) process.exitCode = 1;
      if (opts.json === true) return printJson(report);
      for (const p of report.problems) process.stdout.write(`${p.snapshot.slice(0, 12)}${p.part === null ? '' : ` part ${p.part}`}: ${p.problem}\n`);
      process.stdout.write(`checked ${report.snapshots} snapshots, ${report.blobs} blobs: ${report.problems.length === 0 ? 'ok' : `${report.problems.length} problems`}\n`);
    }));

  storeOption(program.command('rm').description('remove a snapshot (its blobs stay until gc)'))
    .argument('<ref>', 'id prefix, NAME or NAME@N')
    .option('--json', 'print what was removed as JSON')
    .action(action(async (ref: string, opts: StoreOptions & { json?: boolean }) => {
      const r = await withStore(opts, (s) => s.remove(ref));
      if (opts.json === true) return printJson(r);
      process.stdout.write(`removed ${r.id.slice(0, 12)} (${r.names.join(', ')})\n`);
    }));

  storeOption(program.command('gc').description('delete blobs that no snapshot refers to'))
    .option('--json', 'print the result as JSON')
    .action(action(async (opts: StoreOptions & { json?: boolean }) => {
      const r = await withStore(opts, (s) => s.gc());
      if (opts.json === true) return printJson(r);
      process.stdout.write(`removed ${r.removedBlobs} blobs, freed ${formatBytes(r.freedBytes)}, kept ${r.keptBlobs}\n`);
    }));

  storeOption(program.command('export').description('write one snapshot to a self-describing .hclsnap file'))
    .argument('<ref>', 'id prefix, NAME or NAME@N')
    .argument('<file>', 'output file (.hclsnap): a new file, or an existing one with --force')
    .option('--force', 'overwrite an existing file')
    .option('--json', 'print the result as JSON')
    .action(action(async (ref: string, file: string, opts: StoreOptions & { json?: boolean; force?: boolean }) => {
      const { checkOutput } = await import('./io.ts');
      await checkOutput(file, opts.force === true);
      const r = await withStore(opts, (s) => s.exportSnapshot(ref, file), { readOnly: true });
      if (opts.json === true) return printJson(r);
      process.stdout.write(`exported ${r.id.slice(0, 12)} to ${file} (${formatBytes(r.bytes)})\n`);
    }));

  storeOption(program.command('import').description('verify an .hclsnap file, then add it to the store'))
    .argument('<file>', 'an .hclsnap file')
    .option('--json', 'print the result as JSON')
    .action(action(async (file: string, opts: StoreOptions & { json?: boolean }) => {
      // Read and verify the whole archive before the store is opened, so a bad file creates and
      // changes nothing (not even a new store directory).
      const { archiveMagic, readInput } = await import('./io.ts');
      const { parseArchive, DEFAULT_MAX_SNAPSHOT_BYTES } = await import('../../lib/store/index.ts');
      const magic = await archiveMagic();
      const archive = parseArchive(await readInput(file, { magic }), file, opts.maxSnapshotBytes ?? DEFAULT_MAX_SNAPSHOT_BYTES);
      const r = await withStore(opts, (s) => s.importSnapshot(archive));
      if (opts.json === true) return printJson(r);
      const what = r.imported ? `imported, ${formatBytes(r.newBytes)} new` : 'already in the store';
      process.stdout.write(`${r.id.slice(0, 12)} ${r.name}@${r.seq}: ${what}\n`);
      reportRepairs(r.repairedBlobs);
    }));

  storeOption(program.command('store').description('store maintenance').command('repair')
    .description("recover a damaged store with LevelDB's repair, then report each snapshot whole, damaged or gone (exit 1 unless all whole)"))
    .option('--json', 'print the report as JSON')
    .action(action(async (opts: StoreOptions & { json?: boolean }) => {
      const { DEFAULT_STORE_DIR, repairStore } = await import('../../lib/store/index.ts');
      const r = await repairStore(resolveStoreDir(opts) ?? DEFAULT_STORE_DIR);
      if (r.damaged.length > 0 || r.gone.length > 0 || r.other.length > 0) process.exitCode = 1;
      if (opts.json === true) return printJson(r);
      for (const s of r.whole) process.stdout.write(`whole   ${s.id.slice(0, 12)} ${s.name}@${s.seq}\n`);
      for (const s of r.damaged) process.stdout.write(`damaged ${s.id.slice(0, 12)} ${s.name}@${s.seq}: ${s.problems.join('; ')}\n`);
      for (const s of r.gone) process.stdout.write(`gone    ${s.id.slice(0, 12)} ${s.name}@${s.seq}: committed (journal) but not recoverable\n`);
      for (const o of r.other) process.stdout.write(`problem ${o}\n`);
      process.stdout.write(`store ${r.dir}: ${r.whole.length} whole, ${r.damaged.length} damaged, ${r.gone.length} gone\n`);
    }));
}

/** Tells the user (stderr) that a write found stored blobs damaged and rewrote them whole. */
export function reportRepairs(shas: readonly string[]): void {
  if (shas.length > 0) process.stderr.write(`hclckpt: repaired ${shas.length} damaged stored blob(s): ${shas.map((s) => s.slice(0, 12)).join(', ')}\n`);
}
