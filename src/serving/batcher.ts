/**
 * @module serving/batcher
 * Micro-batching, MLServer/KServe style: concurrent requests to one model are merged into one
 * ONNX Runtime call of at most `maxBatchSize` rows, and each gets back exactly its own rows'
 * scores, in order (the bug class of MLServer #1306, where responses were crossed). A batch that
 * fails fails every request in it with the same error.
 */
import { KeelError } from '../core/index.js';
import type { ServingModel } from './model.js';

export interface BatchingOptions {
  /** Most rows in one model call; a request with more rows runs alone, never split. */
  maxBatchSize: number;
  /**
   * How long (ms) the first queued request waits for others. 0 waits for nothing: a request
   * that finds the model idle runs at once, and requests that arrive while a call is running
   * are merged into the next call, made as soon as it returns (or at once when they fill a batch).
   */
  maxLatencyMs: number;
}

export const DEFAULT_BATCHING: BatchingOptions = { maxBatchSize: 64, maxLatencyMs: 0 };

/** Scores `rows` rows of row-major float32 `values`: one value per row. */
export type ScoreRows = (values: Float32Array, rows: number) => Promise<Float64Array>;

interface Pending {
  values: Float32Array;
  rows: number;
  resolve: (scores: Float64Array) => void;
  reject: (err: unknown) => void;
}

export class MicroBatcher {
  private queue: Pending[] = [];
  private queuedRows = 0;
  /** Model calls made and not yet returned. */
  private running = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly run: ScoreRows,
    /** Values in a row. */
    private readonly width: number,
    private readonly options: BatchingOptions = DEFAULT_BATCHING,
  ) {
    if (!Number.isInteger(options.maxBatchSize) || options.maxBatchSize < 1)
      throw new KeelError('INVALID_PARAMETER_VALUE', `maxBatchSize must be a whole number >= 1`);
    if (!(options.maxLatencyMs >= 0))
      throw new KeelError('INVALID_PARAMETER_VALUE', `maxLatencyMs must be >= 0`);
  }

  /**
   * Queues `rows` rows and resolves to their scores once the batch holding them has run.
   * @throws KeelError INVALID_PARAMETER_VALUE when `values` is not `rows` rows of `width`.
   */
  score(values: Float32Array, rows: number): Promise<Float64Array> {
    if (values.length !== rows * this.width)
      return Promise.reject(
        new KeelError(
          'INVALID_PARAMETER_VALUE',
          `the model takes ${this.width} values a row; got ${values.length} for ${rows} rows`,
        ),
      );
    if (rows === 0) return Promise.resolve(new Float64Array(0));
    return new Promise((resolve, reject) => {
      const pending = { values, rows, resolve, reject };
      const { maxBatchSize: max, maxLatencyMs } = this.options;
      // Nothing to merge with: waiting would only add latency.
      if (maxLatencyMs === 0 && this.running === 0 && this.queue.length === 0) {
        void this.runBatch([pending], rows);
        return;
      }
      // Keep every batch within the limit: what is queued goes first if this would overflow it.
      if (this.queuedRows > 0 && this.queuedRows + rows > max) this.flush();
      this.queue.push(pending);
      this.queuedRows += rows;
      if (this.queuedRows >= max) this.flush();
      // With no latency allowed, the queue goes when the running call returns (runBatch).
      else if (maxLatencyMs > 0) this.timer ??= setTimeout(() => this.flush(), maxLatencyMs);
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queue;
    const rows = this.queuedRows;
    this.queue = [];
    this.queuedRows = 0;
    if (batch.length > 0) void this.runBatch(batch, rows);
  }

  private async runBatch(batch: Pending[], rows: number): Promise<void> {
    this.running++;
    try {
      await this.settle(batch, rows);
    } finally {
      this.running--;
      if (this.running === 0 && this.options.maxLatencyMs === 0) this.flush();
    }
  }

  private async settle(batch: Pending[], rows: number): Promise<void> {
    let values = batch[0].values;
    if (batch.length > 1) {
      values = new Float32Array(rows * this.width);
      let offset = 0;
      for (const p of batch) {
        values.set(p.values, offset);
        offset += p.values.length;
      }
    }
    let scores: Float64Array;
    try {
      scores = await this.run(values, rows);
      if (scores.length !== rows)
        throw new KeelError('INVALID_STATE', `the model gave ${scores.length} scores for ${rows} rows`);
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    if (batch.length === 1) {
      batch[0].resolve(scores);
      return;
    }
    let offset = 0;
    for (const p of batch) {
      p.resolve(scores.subarray(offset, offset + p.rows));
      offset += p.rows;
    }
  }
}

/**
 * One batcher per served model object, made on first use: a model swapped in under load gets a
 * batcher of its own, so a batch never mixes two versions.
 */
export class ModelBatchers {
  private readonly byModel = new WeakMap<ServingModel, MicroBatcher>();

  constructor(
    readonly options: BatchingOptions = DEFAULT_BATCHING,
    /** Told the rows of each model call (a metrics hook). */
    private readonly onBatch?: (model: ServingModel, rows: number) => void,
  ) {}

  for(model: ServingModel): MicroBatcher {
    let batcher = this.byModel.get(model);
    if (!batcher) {
      const { onBatch } = this;
      const run: ScoreRows = onBatch
        ? (values, rows) => {
            onBatch(model, rows);
            return model.score(values, rows);
          }
        : (values, rows) => model.score(values, rows);
      batcher = new MicroBatcher(run, model.width, this.options);
      this.byModel.set(model, batcher);
    }
    return batcher;
  }
}
