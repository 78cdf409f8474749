import { lstat, open } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex } from '../bytes/index.ts';
import { HclError } from '../errors.ts';

/**
 * The store's journal: an append-only text file beside the LevelDB files, one fsynced line per
 * committed or removed snapshot (like git's reflog). It lets `ls` and `verify` report a snapshot
 * that damage to LevelDB lost as "committed but missing" instead of forgetting it ever existed.
 *
 * Line: `commit|remove ID NAME SEQ CHECK\n`, CHECK the first 8 hex digits of the sha256 of the
 * text before it. A commit line is written after its batch is durable, a remove line before its
 * batch, so a crash between the two never makes a present snapshot look lost or a lost one
 * look removed.
 */

/** Name of the journal file in a store directory. */
export const JOURNAL_FILE = 'JOURNAL';
/** Largest journal read (about 3 million records); a larger one is refused as damaged. */
export const JOURNAL_LIMIT = 256 * 1024 * 1024;

/** One journal record. */
export interface JournalEntry {
  op: 'commit' | 'remove';
  id: string;
  name: string;
  seq: number;
}

/** What the journal says: the last record of every snapshot, and the damaged lines it skipped. */
export interface JournalState {
  last: Map<string, JournalEntry>;
  /** 1-based numbers of lines that failed their check. */
  damaged: number[];
}

const LINE = /^(commit|remove) ([0-9a-f]{64}) (\S{1,128}) ([1-9]\d{0,9}) ([0-9a-f]{8})$/;
const check = (text: string): string => sha256Hex(new TextEncoder().encode(text)).slice(0, 8);

/** The journal of the store at `dir`. */
export class Journal {
  readonly file: string;

  constructor(dir: string) {
    this.file = join(dir, JOURNAL_FILE);
  }

  /** Appends records and fsyncs the file before returning (STORE_WRITE_FAILED when it cannot). */
  async append(entries: JournalEntry[]): Promise<void> {
    const text = entries.map((e) => {
      const body = `${e.op} ${e.id} ${e.name} ${e.seq}`;
      return `${body} ${check(body)}\n`;
    }).join('');
    try {
      // lstat first: opening a FIFO would block, and a symlink could point anywhere.
      const st = await lstat(this.file).catch((e: unknown) => ((e as NodeJS.ErrnoException).code === 'ENOENT' ? null : Promise.reject(e)));
      if (st !== null && !st.isFile()) throw new Error(`${JOURNAL_FILE} is not a regular file`);
      const h = await open(this.file, 'a');
      try {
        await h.writeFile(text);
        await h.sync();
      } finally {
        await h.close();
      }
    } catch (e) {
      throw new HclError('STORE_WRITE_FAILED', `store journal ${this.file}: cannot append: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Reads every record; a missing journal is empty, one over JOURNAL_LIMIT is STORE_CORRUPT. */
  async read(): Promise<JournalState> {
    let text: string;
    try {
      const st = await lstat(this.file);
      if (!st.isFile()) throw new HclError('STORE_CORRUPT', `store journal ${this.file}: not a regular file`);
      if (st.size > JOURNAL_LIMIT) throw new HclError('STORE_CORRUPT', `store journal ${this.file}: ${st.size} bytes, more than the ${JOURNAL_LIMIT} a journal may hold`);
      const h = await open(this.file, 'r');
      try {
        text = (await h.readFile()).toString('utf8');
      } finally {
        await h.close();
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { last: new Map(), damaged: [] };
      if (e instanceof HclError) throw e;
      throw new HclError('STORE_IO', `store journal ${this.file}: cannot read: ${(e as Error).message}`, { cause: e });
    }
    const last = new Map<string, JournalEntry>();
    const damaged: number[] = [];
    const lines = text.split('\n');
    // A file that does not end in a newline ends in a torn or damaged line.
    lines.forEach((line, i) => {
      if (line === '' && i === lines.length - 1) return;
      const m = LINE.exec(line);
      if (m === null || check(line.slice(0, line.length - 9)) !== m[5]) {
        damaged.push(i + 1);
        return;
      }
      last.set(m[2] as string, { op: m[1] as JournalEntry['op'], id: m[2] as string, name: m[3] as string, seq: Number(m[4]) });
    });
    return { last, damaged };
  }
}
