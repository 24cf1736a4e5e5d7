/**
 * @module jobs/handlers
 * What a worker does with each kind of task: thin calls into the subsystems that own the work
 * (batch scoring, materialization, monitoring, retraining). A task's result is what `keel jobs
 * show` prints for it.
 */
import { type KeelConfig, KeelError } from '../core/index.js';
import type { Registry } from '../registry/index.js';

export interface ScoreChunkTask {
  /** A pinned version (`models:/name/3`), so every chunk scores with the same one. */
  model: string;
  /** A Parquet file, of which the chunk is the rows `rows` names. */
  input: string;
  rows: { first: number; count: number };
  /** How messages name the input (the file a Parquet copy was made from). */
  inputName: string;
  /** The chunk's part file; written atomically, so a retry replaces it. */
  output: string;
  keep: string[];
  columns?: string[];
}

export interface MaterializeTask {
  start: number;
  end: number;
  views?: string[];
}

export interface RetrainTask {
  model: string;
  reason: string;
}

export interface MonitorTask {
  model: string;
  windowMs?: number;
  asOf?: number;
}

export interface HandlerContext {
  config: KeelConfig;
  /** The worker's registry, opened on first use and kept. */
  registry: () => Promise<Registry>;
}

export const handlers = {
  async 'score-chunk'(ctx: HandlerContext, task: ScoreChunkTask) {
    const { scoreDataset, sessionOptionsFrom } = await import('../serving/index.js');
    const r = await scoreDataset({
      registry: await ctx.registry(),
      // ONNX Runtime as keel.yaml sets it, as `keel score` runs it.
      session: sessionOptionsFrom(ctx.config),
      model: task.model,
      input: task.input,
      rows: task.rows,
      inputName: task.inputName,
      output: task.output,
      keep: task.keep,
      columns: task.columns,
    });
    return { rows: r.rows, seconds: r.seconds, part: r.output };
  },

  async materialize(ctx: HandlerContext, task: MaterializeTask) {
    const { FeatureStore } = await import('../features/index.js');
    const store = new FeatureStore({ config: ctx.config });
    try {
      const views = await store.materialize({ start: task.start, end: task.end, views: task.views });
      return { views };
    } finally {
      await store.close();
    }
  },

  async retrain(ctx: HandlerContext, task: RetrainTask) {
    const r = await withMonitoring(ctx.config, (m) =>
      m.retrain(task.model, { reason: task.reason, requestedBy: 'keel worker' }),
    );
    if (r.status === 'failed' || r.status === 'skipped')
      throw new KeelError(
        r.status === 'failed' ? 'EXECUTION_FAILED' : 'FAILED_PRECONDITION',
        r.status === 'failed'
          ? `retraining ${r.id} of '${r.model}' failed: ${r.error}`
          : `a retraining of '${r.model}' is already running (${r.result.runningId})`,
      );
    return { retraining: r.id, status: r.status, version: r.result.version ?? null };
  },

  async monitor(ctx: HandlerContext, task: MonitorTask) {
    const r = await withMonitoring(ctx.config, (m) =>
      m.run(task.model, { windowMs: task.windowMs, asOf: task.asOf, cause: 'job' }),
    );
    return { run: r.id, status: r.status, rows: r.rows, breaches: r.breaches.length };
  },
} satisfies Record<string, (ctx: HandlerContext, task: never) => Promise<Record<string, unknown>>>;

export type TaskName = keyof typeof handlers;

async function withMonitoring<T>(
  config: KeelConfig,
  fn: (m: import('../monitoring/index.js').Monitoring) => Promise<T>,
): Promise<T> {
  const { Monitoring } = await import('../monitoring/index.js');
  const monitoring = await Monitoring.open(config);
  try {
    return await fn(monitoring);
  } finally {
    await monitoring.close();
  }
}
