/**
 * @module jobs/worker
 * A worker: takes tasks off the queue and runs them, `concurrency` at a time. BullMQ holds a lock
 * on each running task that the worker renews; when the worker dies, the lock lapses and another
 * worker's stalled-job check queues the task again (see settings.ts). A task that fails on its
 * input (bad options, a missing model or file, invalid data) or whose command failed fails at
 * once; any other error is tried again, up to `attempts` (FINAL_ERRORS). `close` stops taking
 * tasks and waits for the running ones, so a SIGTERM loses no work.
 */
import { hostname } from 'node:os';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { ERROR_CODES, type KeelConfig, KeelError, shortId } from '../core/index.js';
import type { Registry } from '../registry/index.js';
import { type HandlerContext, handlers, type TaskName } from './handlers.js';
import { connectRedis, failureText, QUEUE_NAME, startLine } from './queue.js';
import { type JobSettings, jobSettings } from './settings.js';

export interface WorkerEvent {
  event: 'started' | 'completed' | 'failed';
  worker: string;
  task: string;
  name: string;
  attempt: number;
  error?: string;
}

export interface WorkerOptions {
  config: KeelConfig;
  env?: NodeJS.ProcessEnv;
  /** How tasks' logs and `keel jobs show` name this worker (default host:pid:random). */
  name?: string;
  concurrency?: number;
  /** Each task's start and end. */
  onEvent?: (e: WorkerEvent) => void;
}

export interface RunningWorker {
  name: string;
  settings: JobSettings;
  /** Stops taking tasks and waits for the running ones. */
  close(): Promise<void>;
}

/**
 * Codes of errors that another try cannot mend: the client's (bad input, a missing model or file,
 * invalid data, a failed precondition) and a command that ran and failed (a retraining recipe,
 * already recorded as failed).
 */
const FINAL_ERRORS = new Set([
  ...Object.entries(ERROR_CODES)
    .filter(([, v]) => v.status >= 400 && v.status < 500 && v.status !== 429)
    .map(([code]) => code),
  'EXECUTION_FAILED',
]);

export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const settings = jobSettings(options.config, options.env);
  // Fail now with a clear message rather than retry a connection forever.
  (await connectRedis(settings.redis)).disconnect();
  const name = options.name ?? `${hostname()}:${process.pid}:${shortId(2)}`;
  let registry: Promise<Registry> | undefined;
  const ctx: HandlerContext = {
    config: options.config,
    registry: () => {
      registry ??= import('../registry/index.js').then(({ Registry }) => Registry.open(options.config));
      return registry;
    },
  };
  const emit = (job: Job, event: WorkerEvent['event'], error?: string) =>
    options.onEvent?.({
      event,
      worker: name,
      task: job.id ?? '',
      name: job.name,
      attempt: job.attemptsStarted,
      error,
    });

  const run = async (job: Job) => {
    const handler = handlers[job.name as TaskName] as
      | ((ctx: HandlerContext, task: unknown) => Promise<Record<string, unknown>>)
      | undefined;
    await job.log(startLine(job.attemptsStarted, name));
    emit(job, 'started');
    if (!handler)
      throw new UnrecoverableError(
        failureText('INVALID_PARAMETER_VALUE', `no handler for task '${job.name}'`),
      );
    try {
      return await handler(ctx, job.data);
    } catch (err) {
      const e = err instanceof KeelError ? err : undefined;
      const text = failureText(e?.code ?? 'EXECUTION_FAILED', (err as Error).message);
      if (e && FINAL_ERRORS.has(e.code)) throw new UnrecoverableError(text);
      throw new Error(text);
    }
  };

  const worker = new Worker(QUEUE_NAME, run, {
    connection: { url: settings.redis },
    prefix: settings.prefix,
    name,
    concurrency: options.concurrency ?? settings.concurrency,
    lockDuration: settings.lockDuration,
    stalledInterval: settings.stalledInterval,
    maxStalledCount: settings.maxStalledCount,
    autorun: false,
  });
  worker.on('completed', (job) => emit(job, 'completed'));
  worker.on('failed', (job, err) => job && emit(job, 'failed', err.message));
  // Connection errors are retried by BullMQ; without a listener Node would throw them.
  worker.on('error', () => undefined);
  // Its failures are reported on 'error' above and retried by BullMQ.
  worker.run().catch(() => undefined);
  await worker.waitUntilReady();
  return {
    name,
    settings,
    async close() {
      await worker.close();
      if (registry) await (await registry).close();
    },
  };
}
