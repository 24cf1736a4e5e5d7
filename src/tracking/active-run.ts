/**
 * @module tracking/active-run
 * A run being logged to. Metrics, params and tags are buffered and sent as log-batch requests:
 * when a buffer reaches MLflow's per-request limits, 200 ms after the first unsent entry, and on
 * flush/end. A training loop logging every step therefore makes a handful of requests, not one
 * per metric.
 *
 * A batch the server could not take (unreachable, 5xx, 429, after the transport's own retries) is
 * kept and sent again, before anything newer, at the next flush; logging goes on meanwhile. A batch
 * the server refused for what it holds (a 4xx) is dropped and its error reported by the flush (or,
 * if a timer sent it, by the next flush or end). `end` always tries to end the run on the server,
 * even when its flush fails, and reports the flush's error after.
 */
import { KeelError } from '../core/index.js';
import type { ActiveRun, DatasetInput, ParamValue, RunStatus } from './client.js';
import { isTransient } from './http-retry.js';
import { LIMITS } from './limits.js';
import type { TrackingTransport } from './transport.js';
import type { KeyValue, LogBatch, Metric } from './types.js';

const FLUSH_DELAY_MS = 200;
/** Entries kept for a server that does not answer before logging refuses more (100 full batches). */
export const MAX_UNSENT_ENTRIES = 100 * LIMITS.entitiesPerBatch;

const size = (b: LogBatch) => (b.metrics?.length ?? 0) + (b.params?.length ?? 0) + (b.tags?.length ?? 0);

export class BufferedRun implements ActiveRun {
  private metrics: Metric[] = [];
  private params: KeyValue[] = [];
  private tags: KeyValue[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> = Promise.resolve();
  /** Batches taken from the buffers and not yet accepted by the server, oldest first. */
  private unsent: LogBatch[] = [];
  /** A refusal met by a timer's flush, reported by the next flush or end. */
  private refusal: unknown;
  private ended = false;

  constructor(
    private readonly transport: TrackingTransport,
    readonly runId: string,
    readonly experimentId: string,
    private readonly now: () => number = Date.now,
  ) {}

  private checkOpen(): void {
    if (this.ended) throw new KeelError('INVALID_STATE', `Run ${this.runId} has ended`);
    const waiting = this.unsent.reduce((n, b) => n + size(b), 0);
    if (waiting >= MAX_UNSENT_ENTRIES) {
      throw new KeelError(
        'TEMPORARILY_UNAVAILABLE',
        `${waiting} entries of run ${this.runId} are waiting for the tracking server; nothing more is taken until flush() sends them`,
      );
    }
  }

  private full(): boolean {
    return (
      this.metrics.length >= LIMITS.metricsPerBatch ||
      this.params.length >= LIMITS.paramsPerBatch ||
      this.tags.length >= LIMITS.tagsPerBatch ||
      this.metrics.length + this.params.length + this.tags.length >= LIMITS.entitiesPerBatch
    );
  }

  /**
   * A flush the client starts by itself (a full buffer, the timer) never throws at the logging
   * call: an unsent batch stays queued for the next flush, and a refusal is kept to be reported
   * by the next explicit flush or end.
   */
  private async autoFlush(): Promise<void> {
    await this.flush().catch((err) => {
      if (!isTransient(err)) this.refusal = err;
    });
  }

  private async afterAdd(): Promise<void> {
    if (this.full()) {
      await this.autoFlush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.autoFlush();
      }, FLUSH_DELAY_MS);
      this.timer.unref();
    }
  }

  async logParams(params: Record<string, ParamValue>): Promise<void> {
    this.checkOpen();
    for (const [key, value] of Object.entries(params)) {
      this.params.push({ key, value: String(value) });
      if (this.full()) await this.autoFlush();
    }
    await this.afterAdd();
  }

  async logMetrics(
    metrics: Record<string, number>,
    options: { step?: number; timestamp?: number } = {},
  ): Promise<void> {
    this.checkOpen();
    const timestamp = options.timestamp ?? this.now();
    for (const [key, value] of Object.entries(metrics)) {
      this.metrics.push({ key, value, timestamp, step: options.step ?? 0 });
      if (this.full()) await this.autoFlush();
    }
    await this.afterAdd();
  }

  async setTags(tags: Record<string, string>): Promise<void> {
    this.checkOpen();
    for (const [key, value] of Object.entries(tags)) {
      this.tags.push({ key, value });
      if (this.full()) await this.autoFlush();
    }
    await this.afterAdd();
  }

  async logInputs(datasets: DatasetInput[]): Promise<void> {
    this.checkOpen();
    await this.transport.logInputs(
      this.runId,
      datasets.map((d) => ({
        tags: Object.entries(d.tags ?? {}).map(([key, value]) => ({ key, value })),
        dataset: {
          name: d.name,
          digest: d.digest,
          source_type: d.sourceType,
          source: d.source,
          ...(d.schema ? { schema: d.schema } : {}),
          ...(d.profile ? { profile: d.profile } : {}),
        },
      })),
    );
  }

  async logArtifact(localPath: string, artifactPath?: string): Promise<void> {
    this.checkOpen();
    await this.transport.logArtifact(this.runId, localPath, artifactPath);
  }

  /**
   * Sends what is buffered, after any batch kept from a failed send, in order; batches never
   * interleave. Rejects with the first error met (a kept batch stays for the next flush).
   */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch = { metrics: this.metrics, params: this.params, tags: this.tags };
    this.metrics = [];
    this.params = [];
    this.tags = [];
    if (size(batch) > 0) this.unsent.push(batch);
    const sent = this.sending.catch(() => {}).then(() => this.sendUnsent());
    this.sending = sent;
    return sent.then(() => {
      const refusal = this.refusal;
      this.refusal = undefined;
      if (refusal) throw refusal;
    });
  }

  private async sendUnsent(): Promise<void> {
    let refusal: unknown;
    while (this.unsent.length > 0) {
      try {
        await this.transport.logBatch(this.runId, this.unsent[0]);
      } catch (err) {
        if (isTransient(err)) throw err;
        refusal ??= err; // sending it again cannot help: drop it, go on with the rest
      }
      this.unsent.shift();
    }
    if (refusal) throw refusal;
  }

  /**
   * Flushes, then ends the run on the server with `status`, even when the flush failed; the
   * flush's error is thrown after the run has ended (its kept batches can still be flushed).
   * When ending itself fails, the run stays open and `end` may be called again.
   */
  async end(status: Exclude<RunStatus, 'RUNNING' | 'SCHEDULED'> = 'FINISHED'): Promise<void> {
    if (this.ended) return;
    let flushError: unknown;
    try {
      await this.flush();
    } catch (err) {
      flushError = err;
    }
    await this.transport.endRun(this.runId, status, this.now());
    this.ended = true;
    if (flushError) throw flushError;
  }
}
