import { procfsNotFound, type ProcFs } from './procfs.ts';

/** A file's content: fixed bytes, or computed on each read (for state that changes, like cpu/online). */
export type MemFile = Uint8Array | (() => Uint8Array);

/**
 * An in-memory, read-only ProcFs: a map of absolute file paths to contents; directories are
 * every proper prefix of a file path. Built once by the kernel stage, then only read.
 */
export class MemProcFs implements ProcFs {
  readonly #files = new Map<string, MemFile>();
  readonly #dirs = new Map<string, Set<string>>([['/', new Set()]]);

  /** Adds (or replaces) a file; text is stored as UTF-8. Parent directories appear implicitly. */
  add(path: string, content: MemFile | string): this {
    const p = normal(path);
    if (!path.startsWith('/') || p === '/') throw new TypeError(`procfs path must be absolute: ${path}`);
    this.#enter(p);
    this.#files.set(p, typeof content === 'string' ? encoder.encode(content) : content);
    return this;
  }

  // Registers normalised `p` in its parent directory, creating parents only the first time, so
  // adding a tree of n files costs O(n) rather than O(n × depth) string work.
  #enter(p: string): void {
    const cut = p.lastIndexOf('/');
    const parent = cut === 0 ? '/' : p.slice(0, cut);
    let entries = this.#dirs.get(parent);
    if (entries === undefined) {
      this.#dirs.set(parent, (entries = new Set()));
      this.#enter(parent);
    }
    entries.add(p.slice(cut + 1));
  }

  read(path: string): Uint8Array {
    const f = this.#files.get(normal(path));
    if (f === undefined) throw procfsNotFound(path);
    return typeof f === 'function' ? f() : f;
  }

  list(path: string): string[] {
    const d = this.#dirs.get(normal(path));
    if (d === undefined) throw procfsNotFound(path);
    return [...d].sort();
  }

  exists(path: string): boolean {
    const p = normal(path);
    return this.#files.has(p) || this.#dirs.has(p);
  }
}

const encoder = new TextEncoder();

// "/a//b/" → "/a/b"; paths already in that form (every path the kernel stage builds) skip the split.
function normal(path: string): string {
  const clean = path.startsWith('/') && !path.includes('//') && (path.length === 1 || !path.endsWith('/'));
  return clean ? path : `/${path.split('/').filter((x) => x !== '').join('/')}`;
}
