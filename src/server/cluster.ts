/**
 * @module server/cluster
 * `keel serve --workers N`: N processes (node:cluster) share one port, each a whole server with
 * its own ONNX Runtime sessions, stores and prediction log files. The primary serves nothing: it
 * starts the workers, announces the server once all of them listen, replaces a worker that dies,
 * answers `/metrics` for the cluster (a worker asked for `/metrics` asks the primary, which sums
 * every worker's registry), and on SIGTERM/SIGINT tells each worker to drain and waits for it.
 *
 * A promotion reaches every worker on its own: each re-resolves its aliases on its timer. The
 * prediction log needs nothing shared either: each worker writes its own files (ids in the names).
 *
 * Messages between the primary and a worker are objects with a `keel` field naming them.
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Logger } from '../core/index.js';

/** What a worker tells the primary once it listens: the CLI's announcement, made by the worker. */
export interface WorkerReady<A> {
  keel: 'ready';
  announcement: A;
}

type ToPrimary<A> = WorkerReady<A> | { keel: 'metrics'; id: number };
type ToWorker = { keel: 'shutdown' } | { keel: 'metrics'; id: number; text?: string; error?: string };

const isMessage = (m: unknown): m is { keel: string } =>
  typeof m === 'object' && m !== null && typeof (m as { keel?: unknown }).keel === 'string';

export interface PrimaryOptions<A> {
  workers: number;
  logger: Logger;
  /** Called once, when every worker listens, with the first one's announcement. */
  onReady: (announcement: A) => void;
}

/**
 * Runs the primary: forks the workers (which run the same command line) and resolves with the
 * exit code once they have all stopped: after SIGTERM/SIGINT, 0 when every worker drained
 * cleanly; when a worker fails before the cluster is up, that worker's exit code (the others are
 * stopped).
 */
export function runPrimary<A>(options: PrimaryOptions<A>): Promise<number> {
  const { logger } = options;
  const aggregator = new AggregatorRegistry();
  const ready = new Set<Worker>();
  let announced = false;
  let stopping = false;
  let failure = 0;
  return new Promise((resolve) => {
    const stopAll = () => {
      if (stopping) return;
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) if (w) tell(w, { keel: 'shutdown' });
    };
    const fork = () => {
      const worker = cluster.fork();
      worker.on('message', (m: ToPrimary<A>) => {
        if (!isMessage(m)) return;
        if (m.keel === 'ready') {
          ready.add(worker);
          // A worker started after the announcement (a replacement) is ready quietly.
          if (!announced && ready.size === options.workers) {
            announced = true;
            options.onReady(m.announcement);
          }
          if (stopping) tell(worker, { keel: 'shutdown' });
        } else if (m.keel === 'metrics')
          aggregator.clusterMetrics().then(
            (text) => tell(worker, { keel: 'metrics', id: m.id, text }),
            (err: Error) => tell(worker, { keel: 'metrics', id: m.id, error: err.message }),
          );
      });
      worker.on('exit', (code, signal) => {
        ready.delete(worker);
        const clean = code === 0;
        if (!stopping && !announced) {
          // A worker that cannot start (a model that does not load) stops the cluster with its code.
          failure = code ?? 1;
          stopAll();
        } else if (!stopping) {
          logger.error({ pid: worker.process.pid, code, signal }, 'a serving worker died; starting another');
          fork();
        } else if (!clean) failure ||= code ?? 1;
        if (Object.keys(cluster.workers ?? {}).length === 0) {
          process.off('SIGTERM', stopAll);
          process.off('SIGINT', stopAll);
          resolve(failure);
        }
      });
    };
    process.on('SIGTERM', stopAll);
    process.on('SIGINT', stopAll);
    for (let i = 0; i < options.workers; i++) fork();
  });
}

/** A worker that has disconnected (stopping, or failed) is past telling anything. */
function tell(worker: Worker, message: ToWorker): void {
  if (worker.isConnected()) worker.send(message, () => undefined);
}

/** In a worker: tells the primary this worker listens. */
export function workerReady<A>(announcement: A): void {
  process.send?.({ keel: 'ready', announcement } satisfies WorkerReady<A>);
}

/**
 * Resolves on the first of SIGTERM, SIGINT (a Ctrl-C reaches every process of the group) or, in
 * a worker, the primary's shutdown message. Later signals are ignored: the drain they would cut
 * short is bounded, and a worker gets a Ctrl-C both from the terminal and from its primary.
 */
export function untilShutdown(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => resolve();
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('message', (m: unknown) => {
      if (isMessage(m) && m.keel === 'shutdown') stop();
    });
  });
}

let asked = 0;

/**
 * In a worker: makes `registry` part of the cluster's figures, and returns what answers
 * `/metrics` for the whole cluster (the primary sums every worker's registry).
 */
export function clusterExposition(registry: Registry): () => Promise<string> {
  // Constructing one is what makes this process answer the primary's requests for its figures.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
  return () =>
    new Promise((resolve, reject) => {
      const id = ++asked;
      const onMessage = (m: unknown) => {
        if (!isMessage(m) || m.keel !== 'metrics') return;
        const answer = m as Extract<ToWorker, { keel: 'metrics' }>;
        if (answer.id !== id) return;
        process.off('message', onMessage);
        if (answer.error !== undefined) reject(new Error(`the cluster's metrics: ${answer.error}`));
        else resolve(answer.text ?? '');
      };
      process.on('message', onMessage);
      process.send?.({ keel: 'metrics', id } satisfies ToPrimary<never>);
    });
}
