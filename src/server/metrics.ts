/**
 * @module server/metrics
 * Prometheus metrics of one app, on a registry of its own (two apps in one process, as in tests,
 * never mix counts): requests and their latency by route, model and version, requests in flight,
 * the micro-batcher's batch sizes, the canary's share of each model's requests, the rows the
 * input policy reported or refused, and the prediction log's buffer. `GET /metrics` answers the text exposition format; under `--auth` it is a read.
 * Latency quantiles come from the histogram: `histogram_quantile(0.99,
 * rate(keel_http_request_duration_seconds_bucket[5m]))`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FeatureStore, OnlineCacheStats } from '../features/index.js';
import { LATENCY_BUCKETS, type PredictionLog, type RequestFigures } from '../monitoring/index.js';
import type { InputIssue, ServingModel } from '../serving/index.js';
import { clusterExposition } from './cluster.js';
import { type RequestLabels, RequestSeries } from './request-series.js';

/** Rows per model call: powers of two up to beyond the default `maxBatchSize` of 64. */
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096];

/** Requests whose gauge was decremented, so an aborted request that also finishes counts once. */
const counted = new WeakSet<FastifyRequest>();

export class ServerMetrics {
  readonly registry = new Registry();
  /** Requests, their latency and the models' requests: counted without prom-client's label hashing. */
  private readonly series: RequestSeries;
  /** Requests received and not yet answered, read at scrape time. */
  private inFlight = 0;
  private readonly batchSize: Histogram<'model' | 'version'>;
  private readonly inputIssues: Counter<'model' | 'version' | 'issue' | 'action'>;

  /**
   * @param log the prediction log, whose buffer is exposed.
   * @param figures where scoring requests are also counted per minute for the monitors.
   */
  /** What `GET /metrics` answers: this registry's figures, or the whole cluster's. */
  readonly exposition: () => Promise<string>;

  constructor(
    log?: PredictionLog,
    private readonly figures?: RequestFigures,
    /** This process is a worker of `keel serve --workers`: `/metrics` sums every worker's figures. */
    clustered = false,
  ) {
    const registers = [this.registry];
    this.exposition = clustered ? clusterExposition(this.registry) : () => this.registry.metrics();
    // Summed across the workers of a cluster: how many processes the figures cover.
    new Gauge({
      name: 'keel_server_processes',
      help: 'Server processes whose figures these are (the workers of keel serve --workers)',
      registers,
    }).set(1);
    // Latency from 0.25 ms (a cached read) to 2.5 s, the same buckets the monitors' request figures keep.
    this.series = new RequestSeries({ registry: this.registry, buckets: LATENCY_BUCKETS });
    const metrics = this;
    new Gauge({
      name: 'keel_http_requests_in_flight',
      help: 'Requests received and not yet answered',
      registers,
      collect() {
        this.set(metrics.inFlight);
      },
    });
    this.batchSize = new Histogram({
      name: 'keel_model_batch_size',
      help: 'Rows per model call after micro-batching',
      labelNames: ['model', 'version'],
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.inputIssues = new Counter({
      name: 'keel_model_input_issues_total',
      help: 'Scoring rows with an unseen category, all features missing, or too many missing, by what the input policy did (scored or refused)',
      labelNames: ['model', 'version', 'issue', 'action'],
      registers,
    });
    if (log) {
      const stat = (name: string, help: string, key: keyof ReturnType<PredictionLog['stats']>) =>
        new Gauge({
          name,
          help,
          registers,
          collect() {
            this.set(log.stats()[key]);
          },
        });
      stat(
        'keel_prediction_log_buffered_rows',
        'Prediction and label rows waiting to be written',
        'bufferedRows',
      );
      // Counters in meaning; read from the log at scrape time, so exposed as gauges of running totals.
      stat(
        'keel_prediction_log_dropped_rows_total',
        'Rows dropped because the buffer was full',
        'droppedRows',
      );
      stat('keel_prediction_log_written_rows_total', 'Prediction rows written to Parquet', 'writtenRows');
      stat(
        'keel_prediction_log_failed_flushes_total',
        'Writes of the prediction log that failed',
        'failedFlushes',
      );
    }
  }

  /** The micro-batcher's hook: one model call of `rows` rows. */
  readonly onBatch = (model: ServingModel, rows: number): void => {
    this.batchSize.observe({ model: model.info.name, version: model.info.version }, rows);
  };

  /** The input policy's hook: the issues of one request's rows. */
  readonly onInputIssues = (model: ServingModel, issues: readonly InputIssue[]): void => {
    const { name, version } = model.info;
    for (const { issue, action } of issues)
      this.inputIssues.inc({
        model: name,
        version,
        issue,
        action: action === 'refused' ? 'refused' : 'scored',
      });
  };

  started(): void {
    this.inFlight++;
  }

  /** A request is over: answered in `seconds`, or aborted by its client (no latency to record). */
  finished(request: FastifyRequest, status: number, seconds?: number): void {
    if (counted.has(request)) return;
    counted.add(request);
    this.inFlight--;
    const served = request.served;
    const labels: RequestLabels = {
      method: request.method,
      // The route's pattern, never the raw URL: unmatched paths would make a series each.
      route: request.routeOptions.url ?? 'unmatched',
      status_code: String(status),
      model: served?.model ?? '',
      version: served?.version ?? '',
    };
    this.series.request(labels, seconds);
    if (served && seconds !== undefined)
      this.figures?.record(labels.route, served.model, served.version, status, seconds);
    if (served) this.series.modelRequest(served.model, served.version, served.canary ? 'canary' : 'primary');
  }
}

/**
 * The online store's in-process cache (`onlineStore.cache`), read at scrape time: hits, misses
 * and evictions since the start (running totals), entries and bytes held, and the hit ratio.
 */
export function onlineCacheGauges(registry: Registry, features: FeatureStore): void {
  const gauge = (
    name: string,
    help: string,
    value: (s: OnlineCacheStats) => number,
    aggregator: 'sum' | 'average' = 'sum',
  ) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      aggregator,
      async collect() {
        const stats = await features.onlineCacheStats();
        if (stats) this.set(value(stats));
      },
    });
  gauge('keel_online_cache_hits_total', 'Online records served from the in-process cache', (s) => s.hits);
  gauge(
    'keel_online_cache_misses_total',
    'Online records read from the store (not cached or expired)',
    (s) => s.misses,
  );
  gauge(
    'keel_online_cache_evictions_total',
    'Cached online records dropped to stay within maxBytes',
    (s) => s.evictions,
  );
  gauge('keel_online_cache_entries', 'Online records held in the cache', (s) => s.entries);
  gauge('keel_online_cache_bytes', 'Memory the cached online records take (estimated)', (s) => s.bytes);
  gauge(
    'keel_online_cache_hit_ratio',
    'Share of online records served from the cache since the start',
    (s) => (s.hits + s.misses > 0 ? s.hits / (s.hits + s.misses) : 0),
    'average',
  );
}

/** Adds the hooks that count every request, and `GET /metrics`, to the root app. */
export function enableMetrics(app: FastifyInstance, metrics: ServerMetrics): void {
  // Callback hooks: on every request, an async hook's promise costs more than the hook's work.
  app.addHook('onRequest', (_request, _reply, done) => {
    metrics.started();
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    metrics.finished(request, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  // 499, as nginx logs a request its client closed before the answer.
  app.addHook('onRequestAbort', (request, done) => {
    metrics.finished(request, 499);
    done();
  });
  app.get('/metrics', { config: { permission: 'read' } }, async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.exposition()),
  );
}
