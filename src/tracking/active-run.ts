/**
 * @module tracking/active-run
 * A run being logged to. Metrics, params and tags are buffered and sent as log-batch requests:
 * when a buffer reaches MLflow's per-request limits, 200 ms after the first unsent entry, and on
 * flush/end. A training loop logging every step therefore makes a handful of requests, not one
 * per metric.
 */
import { KeelError } from '../core/index.js';
import type { ActiveRun, DatasetInput, ParamValue, RunStatus } from './client.js';
import { LIMITS } from './limits.js';
import type { TrackingTransport } from './transport.js';
import type { KeyValue, Metric } from './types.js';

const FLUSH_DELAY_MS = 200;

export class BufferedRun implements ActiveRun {
  private metrics: Metric[] = [];
  private params: KeyValue[] = [];
  private tags: KeyValue[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> = Promise.resolve();
  private failure: unknown;
  private ended = false;

  constructor(
    private readonly transport: TrackingTransport,
    readonly runId: string,
    readonly experimentId: string,
    private readonly now: () => number = Date.now,
  ) {}

  private checkOpen(): void {
    if (this.ended) throw new KeelError('INVALID_STATE', `Run ${this.runId} has ended`);
    if (this.failure) throw this.failure;
  }

  private full(): boolean {
    return (
      this.metrics.length >= LIMITS.metricsPerBatch ||
      this.params.length >= LIMITS.paramsPerBatch ||
      this.tags.length >= LIMITS.tagsPerBatch ||
      this.metrics.length + this.params.length + this.tags.length >= LIMITS.entitiesPerBatch
    );
  }

  private async afterAdd(): Promise<void> {
    if (this.full()) {
      await this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush().catch((err) => {
          this.failure = err;
        });
      }, FLUSH_DELAY_MS);
      this.timer.unref();
    }
  }

  async logParams(params: Record<string, ParamValue>): Promise<void> {
    this.checkOpen();
    for (const [key, value] of Object.entries(params)) {
      this.params.push({ key, value: String(value) });
      if (this.full()) await this.flush();
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
      if (this.full()) await this.flush();
    }
    await this.afterAdd();
  }

  async setTags(tags: Record<string, string>): Promise<void> {
    this.checkOpen();
    for (const [key, value] of Object.entries(tags)) {
      this.tags.push({ key, value });
      if (this.full()) await this.flush();
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

  /** Sends what is buffered, in order; batches never interleave. */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch = { metrics: this.metrics, params: this.params, tags: this.tags };
    this.metrics = [];
    this.params = [];
    this.tags = [];
    const empty = batch.metrics.length + batch.params.length + batch.tags.length === 0;
    this.sending = this.sending.then(() => (empty ? undefined : this.transport.logBatch(this.runId, batch)));
    return this.sending;
  }

  async end(status: Exclude<RunStatus, 'RUNNING' | 'SCHEDULED'> = 'FINISHED'): Promise<void> {
    if (this.ended) return;
    if (this.failure) throw this.failure;
    await this.flush();
    this.ended = true;
    await this.transport.endRun(this.runId, status, this.now());
  }
}
