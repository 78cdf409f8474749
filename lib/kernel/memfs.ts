import { procfsNotFound, type ProcFs } from '../abi/index.ts';

/** A file's content: fixed bytes, or computed on each read (for state that changes, like cpu/online). */
export type MemFile = Uint8Array | (() => Uint8Array);

/**
 * A directory whose entries are produced on first access: files in the order they are added
 * (a later file of the same name replaces an earlier one), and subdirectories, each lazy again.
 */
export interface LazyDir {
  files: Array<readonly [string, MemFile | string]>;
  dirs: Array<readonly [string, () => LazyDir]>;
}

/**
 * An in-memory, read-only ProcFs: a map of absolute file paths to contents; directories are
 * every proper prefix of a file path. Built once by the kernel stage, then only read. A lazy
 * directory (`mount`) fills in when a path at or under it is first touched, with the same
 * result as adding all its files up front.
 */
export class MemProcFs implements ProcFs {
  readonly #files = new Map<string, MemFile>();
  readonly #dirs = new Map<string, Set<string>>([['/', new Set()]]);
  readonly #lazy = new Map<string, () => LazyDir>();

  /** Adds (or replaces) a file; text is stored as UTF-8. Parent directories appear implicitly. */
  add(path: string, content: MemFile | string): this {
    const p = normal(path);
    if (!path.startsWith('/') || p === '/') throw new TypeError(`procfs path must be absolute: ${path}`);
    this.#expand(p);
    this.#put(p, content);
    return this;
  }

  /**
   * Makes `path` a directory whose entries `contents` produces on first access. The kernel
   * stage mounts /proc/device-tree this way: a 2048-CPU tree holds ~12k files that a boot
   * mostly never reads.
   */
  mount(path: string, contents: () => LazyDir): this {
    const p = normal(path);
    if (!path.startsWith('/') || p === '/') throw new TypeError(`procfs path must be absolute: ${path}`);
    this.#expand(p);
    this.#dir(p);
    this.#lazy.set(p, contents);
    return this;
  }

  read(path: string): Uint8Array {
    const p = normal(path);
    this.#expand(p);
    const f = this.#files.get(p);
    if (f === undefined) throw procfsNotFound(path);
    return typeof f === 'function' ? f() : f;
  }

  list(path: string): string[] {
    const p = normal(path);
    this.#expand(p);
    const d = this.#dirs.get(p);
    if (d === undefined) throw procfsNotFound(path);
    return [...d].sort();
  }

  exists(path: string): boolean {
    const p = normal(path);
    // A directory is there as soon as its parent is filled in; only a file may need `p` itself.
    this.#expand(p, false);
    if (this.#dirs.has(p)) return true;
    this.#expand(p);
    return this.#files.has(p);
  }

  #put(p: string, content: MemFile | string): void {
    this.#enter(p);
    this.#files.set(p, typeof content === 'string' ? encoder.encode(content) : content);
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

  #dir(p: string): void {
    if (this.#dirs.has(p)) return;
    this.#dirs.set(p, new Set());
    this.#enter(p);
  }

  // Fills every pending lazy directory on the way to `p` (and `p` itself unless `self` is false),
  // outermost first, so files land in the order an eager build would have added them.
  #expand(p: string, self = true): void {
    if (this.#lazy.size === 0) return;
    for (let cut = p.indexOf('/', 1); ; cut = p.indexOf('/', cut + 1)) {
      if (cut < 0 && !self) return;
      const prefix = cut < 0 ? p : p.slice(0, cut);
      const contents = this.#lazy.get(prefix);
      if (contents !== undefined) {
        this.#lazy.delete(prefix);
        const { files, dirs } = contents();
        for (const [name, content] of files) {
          const f = normal(`${prefix}/${name}`);
          if (f === '/') throw new TypeError(`procfs path must be absolute: ${prefix}/${name}`);
          this.#put(f, content);
        }
        for (const [name, sub] of dirs) {
          const d = normal(`${prefix}/${name}`);
          this.#dir(d);
          this.#lazy.set(d, sub);
        }
      }
      if (cut < 0) return;
    }
  }
}

const encoder = new TextEncoder();

// "/a//b/" → "/a/b"; paths already in that form (every path the kernel stage builds) skip the split.
function normal(path: string): string {
  const clean = path.startsWith('/') && !path.includes('//') && (path.length === 1 || !path.endsWith('/'));
  return clean ? path : `/${path.split('/').filter((x) => x !== '').join('/')}`;
}
