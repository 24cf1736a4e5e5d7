/**
 * @module cli/commands/jobs
 * - `keel worker [--concurrency n]`: takes tasks off the job queue (keel.yaml `jobs`) until
 *   SIGTERM or SIGINT, then finishes the running ones and exits 0.
 * - `keel jobs list [--last n]`: the newest jobs with their progress.
 * - `keel jobs show <id>`: a job's tasks: state, tries, stalls, workers, results.
 * - `keel jobs submit materialize|retrain|monitor ...`: queues work for the workers; `--wait`
 *   waits for it and exits as the job ended.
 */
import type { Command } from 'commander';
import { KeelError } from '../../core/index.js';
import type { JobQueue, JobRecord, JobStatus, WorkerEvent } from '../../jobs/index.js';
import { action, type CommandIO, parseNumberOption } from '../io.js';
import { formatTable, formatTime } from '../table.js';
import { parseSince } from './predictions.js';

const list = (value: string, previous: string[] = []) => [...previous, ...value.split(',').filter(Boolean)];

async function withQueue<T>(io: CommandIO, fn: (q: JobQueue) => Promise<T>): Promise<T> {
  const { JobQueue } = await import('../../jobs/index.js');
  const queue = await JobQueue.open(io.config);
  try {
    return await fn(queue);
  } finally {
    await queue.close();
  }
}

const progressText = (p: JobStatus['progress']) =>
  `${p.done}/${p.total} done${p.failed ? `, ${p.failed} failed` : ''}${p.active ? `, ${p.active} running` : ''}${p.waiting ? `, ${p.waiting} waiting` : ''}`;

function statusText(s: JobStatus): string {
  const j = s.job;
  const lines = [
    `job ${j.id} (${j.kind}): ${j.status}, tasks ${progressText(s.progress)}`,
    `  created ${formatTime(j.createdAt)} UTC${j.finishedAt ? `, finished ${formatTime(j.finishedAt)} UTC` : ''}`,
    `  request: ${JSON.stringify(j.request)}`,
    ...(j.error ? [`  error: ${j.error}`] : []),
    ...(j.result ? [`  result: ${JSON.stringify(j.result)}`] : []),
    `  workers: ${s.workers.join(', ') || '(none yet)'}`,
    formatTable(
      ['task', 'state', 'tries', 'stalls', 'workers', 'result / error'],
      s.tasks.map((t) => [
        t.id,
        t.state,
        String(t.attempts),
        String(t.stalls),
        t.workers.join(' -> '),
        t.error ?? (t.result === undefined ? '' : JSON.stringify(t.result)),
      ]),
    ),
  ];
  return lines.join('\n');
}

async function submit(
  io: CommandIO,
  wait: boolean | undefined,
  kind: JobRecord['kind'],
  task: string,
  payloads: Record<string, unknown>[],
  request: Record<string, unknown>,
): Promise<void> {
  await withQueue(io, async (queue) => {
    const record = await queue.submit(kind, task, payloads, request);
    if (!wait) {
      io.emit(
        record,
        (r) => `queued job ${r.id} (${r.tasks} task${r.tasks > 1 ? 's' : ''}): keel jobs show ${r.id}`,
      );
      return;
    }
    const done = await queue.wait(record.id);
    await queue.finish(record.id, { result: { tasks: done.tasks.map((t) => t.result) } });
    io.emit(await queue.status(record.id), statusText);
  });
}

export function registerJobsCommands(program: Command): void {
  action(
    program
      .command('worker')
      .description(
        'run tasks from the job queue (keel.yaml jobs) until SIGTERM: scoring chunks, materialization, retraining, monitor runs',
      )
      .option(
        '--concurrency <n>',
        'tasks at once (default keel.yaml jobs.concurrency, 1)',
        parseNumberOption('--concurrency', true),
      )
      .option('--name <name>', 'how job logs name this worker (default host:pid:random)'),
    async (io, opts: { concurrency?: number; name?: string }) => {
      const { startWorker } = await import('../../jobs/index.js');
      const line = (e: WorkerEvent) =>
        `${new Date().toISOString()} ${e.task} (${e.name}) try ${e.attempt} ${e.event}${e.error ? `: ${e.error}` : ''}`;
      const worker = await startWorker({
        config: io.config,
        name: opts.name,
        concurrency: opts.concurrency,
        onEvent: (e) => io.note(line(e)),
      });
      const s = worker.settings;
      io.emit(
        {
          worker: worker.name,
          redis: s.redis,
          prefix: s.prefix,
          concurrency: opts.concurrency ?? s.concurrency,
        },
        (w) =>
          `keel worker ${w.worker} takes tasks from ${w.redis} (prefix ${w.prefix}, ${w.concurrency} at a time)`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      io.note(`keel worker ${worker.name}: stopping after the running tasks`);
      await worker.close();
      io.note(`keel worker ${worker.name}: stopped`);
    },
  );

  const jobs = program
    .command('jobs')
    .description('jobs on the queue: list, show, submit')
    .enablePositionalOptions();

  action(
    jobs
      .command('list')
      .description('the newest jobs with their progress')
      .option('--last <n>', 'how many', parseNumberOption('--last', true), 20),
    (io, opts: { last: number }) =>
      withQueue(io, async (queue) => {
        const items = await queue.list(opts.last);
        io.emit(items, (rows) =>
          rows.length === 0
            ? 'no jobs'
            : formatTable(
                ['id', 'kind', 'status', 'tasks', 'created (UTC)'],
                rows.map((r) => [r.id, r.kind, r.status, progressText(r.progress), formatTime(r.createdAt)]),
              ),
        );
      }),
  );

  action(
    jobs
      .command('show')
      .description("a job's tasks: state, tries, stalls, workers")
      .argument('<id>', 'the job id'),
    (io, id: string) => withQueue(io, async (queue) => io.emit(await queue.status(id), statusText)),
  );

  const submitCmd = jobs
    .command('submit')
    .description('queue work for the workers')
    .enablePositionalOptions();
  action(
    submitCmd
      .command('materialize')
      .description('materialize [start, end] into the online store (a task per view given)')
      .requiredOption('--start <time>', 'ISO-8601 start (inclusive)')
      .requiredOption('--end <time>', 'ISO-8601 end (inclusive)')
      .option('--views <names>', 'comma-separated views (default: all online views, one task)', list)
      .option('--wait', 'wait for the workers and print the outcome'),
    async (io, opts: { start: string; end: string; views?: string[]; wait?: boolean }) => {
      const { toEpochMs } = await import('../../features/index.js');
      const start = toEpochMs(opts.start, '--start');
      const end = toEpochMs(opts.end, '--end');
      const payloads = opts.views?.length
        ? opts.views.map((v) => ({ start, end, views: [v] }))
        : [{ start, end }];
      await submit(io, opts.wait, 'materialize', 'materialize', payloads, {
        start: opts.start,
        end: opts.end,
        views: opts.views ?? 'all',
      });
    },
  );
  action(
    submitCmd
      .command('retrain')
      .description('retrain a model with its recipe in keel.yaml on a worker')
      .requiredOption('-m, --model <name>', 'the model')
      .requiredOption('--reason <text>', 'why (kept with the retraining)')
      .option('--wait', 'wait for the worker and print the outcome'),
    async (io, opts: { model: string; reason: string; wait?: boolean }) => {
      if (!opts.reason.trim()) throw new KeelError('INVALID_PARAMETER_VALUE', 'say why: --reason <text>');
      const task = { model: opts.model, reason: opts.reason.trim() };
      await submit(io, opts.wait, 'retrain', 'retrain', [task], task);
    },
  );
  action(
    submitCmd
      .command('monitor')
      .description('run the monitor of a model over one window on a worker')
      .requiredOption('-m, --model <name>', 'the model')
      .option('--window <duration>', "the window's length, e.g. 1h (default: the monitor's)")
      .option('--as-of <time>', 'the window ends here: an ISO time (default when the worker runs it)')
      .option('--wait', 'wait for the worker and print the outcome'),
    async (io, opts: { model: string; window?: string; asOf?: string; wait?: boolean }) => {
      const { parseDuration } = await import('../../core/index.js');
      const task = {
        model: opts.model,
        ...(opts.window === undefined ? {} : { windowMs: parseDuration(opts.window, '--window') }),
        ...(opts.asOf === undefined ? {} : { asOf: parseSince('--as-of', opts.asOf) }),
      };
      await submit(io, opts.wait, 'monitor', 'monitor', [task], task);
    },
  );
}
