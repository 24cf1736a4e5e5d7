/**
 * @module jobs/queue
 * The job queue: one BullMQ queue in Redis, and beside it a record per submitted job. A job is
 * one or more tasks, each a BullMQ job with the id `<job>-<n>`: a distributed scoring job has a
 * task per chunk; a materialization, retraining or monitor run has one. BullMQ keeps each task's
 * state, tries, stalls and logs (a worker logs its name as it starts a try); the record keeps
 * what was asked and how it ended, so `keel jobs list|show` can tell the whole story.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { ERROR_CODES, type KeelConfig, KeelError, notFound, shortId } from '../core/index.js';
import { type JobSettings, jobSettings } from './settings.js';

/** The queue's name inside the prefix; every kind of task shares it. */
export const QUEUE_NAME = 'jobs';

export type JobKind = 'score' | 'materialize' | 'retrain' | 'monitor';

export interface JobRecord {
  id: string;
  kind: JobKind;
  status: 'running' | 'done' | 'failed';
  tasks: number;
  createdAt: number;
  finishedAt?: number;
  /** What was asked: model, input, output, window... */
  request: Record<string, unknown>;
  /** What the job produced, once done. */
  result?: Record<string, unknown>;
  error?: string;
}

export interface TaskStatus {
  index: number;
  id: string;
  state: string;
  /** Tries started (a try a dead worker left counts too). */
  attempts: number;
  /** Tries that ended in an error. */
  failures: number;
  /** Times a worker died or lost its lock while running it. */
  stalls: number;
  /** The workers that started a try, in order. */
  workers: string[];
  startedAt?: number;
  finishedAt?: number;
  result?: unknown;
  error?: string;
}

export interface JobProgress {
  total: number;
  done: number;
  failed: number;
  active: number;
  waiting: number;
}

export interface JobStatus {
  job: JobRecord;
  progress: JobProgress;
  tasks: TaskStatus[];
  workers: string[];
}

export const taskId = (job: string, index: number): string => `${job}-${index}`;

/** The worker's name in a task's log line, as `startLine` writes it. */
const START = /^try (\d+) started by (.+)$/;
export const startLine = (attempt: number, worker: string): string => `try ${attempt} started by ${worker}`;

/** A task's failure as BullMQ stores it: the code first, so whoever waits can raise it again. */
export const failureText = (code: string, message: string): string => `[${code}] ${message}`;

export function parseFailure(text: string): KeelError {
  const m = /^\[([A-Z_]+)\] ([\s\S]*)$/.exec(text);
  const code = m && m[1] in ERROR_CODES ? (m[1] as keyof typeof ERROR_CODES) : 'EXECUTION_FAILED';
  return new KeelError(code, m ? m[2] : text);
}

export class JobQueue {
  private constructor(
    readonly settings: JobSettings,
    readonly queue: Queue,
    private readonly redis: Redis,
  ) {}

  /**
   * Connects to the queue keel.yaml names.
   * @throws KeelError TEMPORARILY_UNAVAILABLE when its Redis does not answer.
   */
  static async open(config: KeelConfig, env?: NodeJS.ProcessEnv): Promise<JobQueue> {
    const settings = jobSettings(config, env);
    const redis = await connectRedis(settings.redis);
    const queue = new Queue(QUEUE_NAME, { connection: { url: settings.redis }, prefix: settings.prefix });
    return new JobQueue(settings, queue, redis);
  }

  private recordKey(id: string): string {
    return `${this.settings.prefix}:keel:job:${id}`;
  }

  private get indexKey(): string {
    return `${this.settings.prefix}:keel:jobs`;
  }

  /** Records a job and queues one task per payload, named `task` (the handler's name). */
  async submit(
    kind: JobKind,
    task: string,
    payloads: Record<string, unknown>[],
    request: Record<string, unknown>,
  ): Promise<JobRecord> {
    const now = Date.now();
    const id = `${kind}-${now.toString(36)}-${shortId(3)}`;
    const record: JobRecord = {
      id,
      kind,
      status: 'running',
      tasks: payloads.length,
      createdAt: now,
      request,
    };
    await this.save(record);
    await this.redis.zadd(this.indexKey, now, id);
    const age = Math.ceil(this.settings.retention / 1000);
    await this.queue.addBulk(
      payloads.map((data, index) => ({
        name: task,
        data: { ...data, job: id, index },
        opts: {
          jobId: taskId(id, index),
          attempts: this.settings.attempts,
          backoff: { type: 'exponential', delay: 500 },
          removeOnComplete: { age },
          removeOnFail: { age },
        },
      })),
    );
    return record;
  }

  private async save(record: JobRecord): Promise<void> {
    const ttl = Math.ceil(this.settings.retention / 1000) + (record.finishedAt ? 0 : 30 * 24 * 3600);
    await this.redis.set(this.recordKey(record.id), JSON.stringify(record), 'EX', ttl);
  }

  /** @throws KeelError RESOURCE_DOES_NOT_EXIST for an unknown (or expired) job. */
  async record(id: string): Promise<JobRecord> {
    const raw = await this.redis.get(this.recordKey(id));
    if (!raw)
      throw notFound(
        `no job '${id}' in the queue at ${this.settings.prefix} (finished jobs are kept ${Math.round(this.settings.retention / 3600_000)} h)`,
      );
    return JSON.parse(raw) as JobRecord;
  }

  /** Marks a job finished, with what it produced or why it failed. */
  async finish(
    id: string,
    outcome: { result?: Record<string, unknown>; error?: string },
  ): Promise<JobRecord> {
    const record = await this.record(id);
    const done: JobRecord = {
      ...record,
      status: outcome.error === undefined ? 'done' : 'failed',
      finishedAt: Date.now(),
      ...outcome,
    };
    await this.save(done);
    return done;
  }

  /** Takes a job's tasks that no worker has started off the queue (a failed job's rest). */
  async cancelWaiting(id: string): Promise<void> {
    const record = await this.record(id);
    for (let i = 0; i < record.tasks; i++) {
      const task = await this.queue.getJob(taskId(id, i));
      const state = await task?.getState();
      if (task && (state === 'waiting' || state === 'delayed' || state === 'prioritized'))
        await task.remove().catch(() => undefined);
    }
  }

  /**
   * Polls a job until every task is done and returns its status (the caller then records the
   * result with `finish`); `onStatus` sees each poll.
   * @throws KeelError the first failed task's error (its code kept), after taking the job's
   *   waiting tasks off the queue and recording the failure.
   */
  async wait(id: string, onStatus?: (s: JobStatus) => void, pollMs = 250): Promise<JobStatus> {
    for (;;) {
      const status = await this.status(id);
      onStatus?.(status);
      const failed = status.tasks.find((t) => t.state === 'failed' || t.state === 'removed');
      if (failed) {
        await this.cancelWaiting(id);
        const err = parseFailure(failed.error ?? `task ${failed.index} was removed from the queue`);
        await this.finish(id, { error: err.message });
        throw new KeelError(err.code, `job ${id}, task ${failed.index}: ${err.message}`, {
          details: { job: id, task: failed.index },
        });
      }
      if (status.progress.done === status.progress.total) return status;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /** Every task's state, tries and workers. */
  async status(id: string): Promise<JobStatus> {
    const job = await this.record(id);
    const tasks = await Promise.all(Array.from({ length: job.tasks }, (_, index) => this.task(id, index)));
    const progress: JobProgress = { total: job.tasks, done: 0, failed: 0, active: 0, waiting: 0 };
    for (const t of tasks) {
      if (t.state === 'completed') progress.done++;
      else if (t.state === 'failed') progress.failed++;
      else if (t.state === 'active') progress.active++;
      else progress.waiting++;
    }
    const workers = [...new Set(tasks.flatMap((t) => t.workers))];
    // A job nobody waits for ends with its tasks; a scoring job only once its waiter has made the
    // output from the parts.
    if (job.status === 'running' && job.kind !== 'score') {
      if (progress.failed > 0) job.status = 'failed';
      else if (progress.done === progress.total) job.status = 'done';
    }
    return { job, progress, tasks, workers };
  }

  private async task(job: string, index: number): Promise<TaskStatus> {
    const id = taskId(job, index);
    // The state first, then the job: a task that turns failed between two reads would otherwise
    // show as failed with the hash read before BullMQ wrote its failedReason (one Lua step).
    const state = await this.queue.getJobState(id);
    const task = await this.queue.getJob(id);
    if (!task || state === 'unknown')
      return { index, id, state: 'removed', attempts: 0, failures: 0, stalls: 0, workers: [] };
    const logs = await this.queue.getJobLogs(id);
    const workers = logs.logs.map((l) => START.exec(l)?.[2]).filter((w): w is string => w !== undefined);
    return {
      index,
      id,
      state,
      attempts: task.attemptsStarted,
      failures: task.attemptsMade,
      stalls: task.stalledCounter,
      workers,
      startedAt: task.processedOn,
      finishedAt: state === 'completed' || state === 'failed' ? task.finishedOn : undefined,
      result: state === 'completed' ? task.returnvalue : undefined,
      error: task.failedReason || undefined,
    };
  }

  /** The newest jobs first, each with its progress. */
  async list(limit: number): Promise<Array<JobRecord & { progress: JobProgress }>> {
    const ids = await this.redis.zrevrange(this.indexKey, 0, Math.max(0, limit - 1));
    const out: Array<JobRecord & { progress: JobProgress }> = [];
    for (const id of ids) {
      const status = await this.status(id).catch(() => undefined);
      if (status) out.push({ ...status.job, progress: status.progress });
      else await this.redis.zrem(this.indexKey, id);
    }
    return out;
  }

  /** Deletes every key of this queue and its records (tests; a project's reset). */
  async destroy(): Promise<void> {
    await this.queue.obliterate({ force: true });
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(
        cursor,
        'MATCH',
        `${this.settings.prefix}:keel:*`,
        'COUNT',
        500,
      );
      if (keys.length) await this.redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  }

  async close(): Promise<void> {
    await this.queue.close();
    this.redis.disconnect();
  }
}

/** A client for the records, checked to answer now rather than retried forever. */
export async function connectRedis(url: string): Promise<Redis> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 5000, maxRetriesPerRequest: 2 });
  let failure: Error | undefined;
  redis.on('error', (err: Error) => {
    failure ??= err;
  });
  try {
    await redis.connect();
    await redis.ping();
    return redis;
  } catch (cause) {
    redis.disconnect();
    throw new KeelError(
      'TEMPORARILY_UNAVAILABLE',
      `the job queue's Redis at ${url} does not answer: ${(failure ?? (cause as Error)).message}`,
      { cause },
    );
  }
}
