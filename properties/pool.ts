import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { runShare, type Share, type ShareSpec } from './share.ts';
import { findProperty } from './suite.ts';

/**
 * A warm pool of worker threads for `hclckpt prop --workers N`: each worker loads the property
 * suite once and then runs share after share, so a run of the whole suite (or the bench's
 * throughput rounds) pays thread start-up and module loading once per worker, not per property.
 * A worker loads this module itself: the built JS as it is, the TypeScript source through tsx.
 */

interface Job { name: string; spec: ShareSpec; onRun: () => void; resolve: (s: Share) => void; reject: (e: Error) => void }

type FromWorker = { tick: number } | { share: Share } | { error: string };

/** The worker thread's boot code: this module, through tsx when it is TypeScript. */
function bootCode(): string {
  const self = JSON.stringify(import.meta.url);
  // From source the worker registers tsx itself: `--import tsx` in execArgv is not honoured
  // when the parent registered tsx through its API (bin/hclckpt.mjs does).
  return import.meta.url.endsWith('.ts')
    ? `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((t) => { t.register(); return import(${self}); })`
    : `import(${self})`;
}

/** N worker threads taking shares from one queue. */
export class WorkerPool {
  readonly #idle: Worker[] = [];
  readonly #queue: Job[] = [];
  readonly #busy = new Map<Worker, Job>();
  readonly #all: Worker[] = [];
  #closed = false;

  /** Starts `size` workers (at least one). */
  constructor(readonly size: number) {
    for (let i = 0; i < Math.max(1, size); i++) this.#spawn();
  }

  #spawn(): void {
    const w = new Worker(bootCode(), { eval: true, workerData: { hclckptPool: true } });
    // A new worker counts as idle: what it is sent waits in its port until its module listens.
    this.#all.push(w);
    this.#idle.push(w);
    w.on('message', (m: FromWorker) => {
      const job = this.#busy.get(w);
      if (job === undefined) return;
      if ('tick' in m) for (let i = 0; i < m.tick; i++) job.onRun();
      else {
        this.#busy.delete(w);
        if ('share' in m) job.resolve(m.share);
        else job.reject(new Error(`property worker: ${job.name}: ${m.error}`));
        this.#idle.push(w);
        this.#next();
      }
    });
    const fail = (e: Error) => {
      const job = this.#busy.get(w);
      this.#busy.delete(w);
      job?.reject(e);
    };
    w.on('error', fail);
    w.on('exit', (code) => {
      if (this.#closed) return;
      fail(new Error(`property worker exited with code ${code}`));
      // A dead worker takes no more shares; with none left, what still waits would wait forever.
      this.#all.splice(this.#all.indexOf(w), 1);
      if (this.#idle.includes(w)) this.#idle.splice(this.#idle.indexOf(w), 1);
      if (this.#all.length === 0) for (const job of this.#queue.splice(0)) job.reject(new Error('every property worker has exited'));
    });
  }

  #next(): void {
    while (this.#idle.length > 0 && this.#queue.length > 0) {
      const w = this.#idle.pop() as Worker;
      const job = this.#queue.shift() as Job;
      this.#busy.set(w, job);
      w.postMessage({ name: job.name, spec: job.spec });
    }
  }

  /** Runs one share of property `name` on the next free worker. */
  run(name: string, spec: ShareSpec, onRun: () => void): Promise<Share> {
    if (this.#closed) return Promise.reject(new Error('property worker pool is closed'));
    if (this.#all.length === 0) return Promise.reject(new Error('every property worker has exited'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ name, spec, onRun, resolve, reject });
      this.#next();
    });
  }

  /** Stops every worker. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#all.map((w) => w.terminate()));
  }
}

// Worker entry: this module, started by WorkerPool; runs each share it is sent, one at a time.
if (!isMainThread && (workerData as { hclckptPool?: boolean } | null)?.hclckptPool === true && parentPort !== null) {
  const port = parentPort;
  port.on('message', (m: { name: string; spec: ShareSpec }) => {
    let pending = 0;
    const flush = () => {
      if (pending > 0) port.postMessage({ tick: pending });
      pending = 0;
    };
    const timer = setInterval(flush, 100);
    runShare(findProperty(m.name), m.spec, () => void pending++).then(
      (share) => { clearInterval(timer); flush(); port.postMessage({ share }); },
      (e: unknown) => { clearInterval(timer); port.postMessage({ error: e instanceof Error ? e.message : String(e) }); },
    );
  });
}
