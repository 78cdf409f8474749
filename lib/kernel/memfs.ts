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
    const parts = path.split('/').filter((p) => p !== '');
    if (!path.startsWith('/') || parts.length === 0) throw new TypeError(`procfs path must be absolute: ${path}`);
    let dir = '/';
    for (const part of parts) {
      let entries = this.#dirs.get(dir);
      if (entries === undefined) this.#dirs.set(dir, (entries = new Set()));
      entries.add(part);
      dir = dir === '/' ? `/${part}` : `${dir}/${part}`;
    }
    this.#files.set(dir, typeof content === 'string' ? new TextEncoder().encode(content) : content);
    return this;
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

function normal(path: string): string {
  const p = `/${path.split('/').filter((x) => x !== '').join('/')}`;
  return p;
}
