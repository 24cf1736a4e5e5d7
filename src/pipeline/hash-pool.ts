/**
 * @module pipeline/hash-pool
 * md5 over many files on worker threads: `md5sum` uses one core, and so would Node's main thread,
 * so a folder of thousands of files is hashed by up to four workers at once. The worker is plain
 * JavaScript evaluated from a string, so it runs the same under tsc output, tsx and vitest.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { KeelError } from '../core/index.js';

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { closeSync, openSync, readSync } = require('node:fs');
const buf = Buffer.allocUnsafe(1 << 20);
function md5(path) {
  const hash = createHash('md5');
  const fd = openSync(path, 'r');
  try {
    let n;
    while ((n = readSync(fd, buf, 0, buf.length, null)) > 0) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}
parentPort.on('message', (paths) => {
  try {
    parentPort.postMessage({ md5s: paths.map(md5) });
  } catch (err) {
    parentPort.postMessage({ error: err.message });
  }
});
`;

/** Files per message: enough to keep messaging cheap next to hashing. */
const BATCH = 64;

export class HashPool {
  private workers: Worker[] = [];
  /** Calls run one after another: each uses every worker, and a worker answers one batch at a time. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly size = Math.max(1, Math.min(4, availableParallelism()))) {}

  private request(worker: Worker, paths: string[]): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) =>
        reject(new KeelError('INTERNAL_ERROR', `Hash worker failed: ${err.message}`, { cause: err }));
      worker.ref();
      worker.once('error', onError);
      worker.once('message', (msg: { md5s?: string[]; error?: string }) => {
        worker.off('error', onError);
        // Idle workers must not keep the process alive.
        worker.unref();
        if (msg.md5s) resolve(msg.md5s);
        else reject(new KeelError('RESOURCE_DOES_NOT_EXIST', `Cannot hash: ${msg.error}`));
      });
      worker.postMessage(paths);
    });
  }

  /**
   * The md5 of each file, in the order given.
   * @param onBatch called with the number of files each finished batch held.
   * @throws KeelError RESOURCE_DOES_NOT_EXIST when a file cannot be read.
   */
  hashFiles(paths: string[], onBatch?: (files: number) => void): Promise<string[]> {
    const run = this.tail.then(() => this.hashNow(paths, onBatch));
    this.tail = run.catch(() => {});
    return run;
  }

  private async hashNow(paths: string[], onBatch?: (files: number) => void): Promise<string[]> {
    while (this.workers.length < this.size) {
      const w = new Worker(WORKER_SOURCE, { eval: true });
      w.unref();
      this.workers.push(w);
    }
    const out: string[] = new Array(paths.length);
    let next = 0;
    await Promise.all(
      this.workers.map(async (w) => {
        while (next < paths.length) {
          const start = next;
          next = Math.min(paths.length, next + BATCH);
          const md5s = await this.request(w, paths.slice(start, next));
          for (let k = 0; k < md5s.length; k++) out[start + k] = md5s[k];
          onBatch?.(md5s.length);
        }
      }),
    );
    return out;
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
