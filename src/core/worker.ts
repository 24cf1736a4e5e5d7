/**
 * @module core/worker
 * Worker threads that run a module of Keel's beside the one starting them, from dist/ as from
 * the TypeScript sources (tsx, vitest).
 */
import { Worker } from 'node:worker_threads';

/**
 * Starts `./<name>.js` beside the module at `from` (its `import.meta.url`) in a worker thread.
 * Under tsx or vitest that module is TypeScript source, so the worker's is too: a one-line
 * bootstrap registers tsx's loader in the thread before importing it.
 */
export function startWorker(from: string, name: string, workerData: unknown): Worker {
  const ts = from.endsWith('.ts');
  const entry = new URL(`./${name}.${ts ? 'ts' : 'js'}`, from);
  return ts
    ? new Worker(
        `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`,
        { eval: true, workerData },
      )
    : new Worker(entry, { workerData });
}
