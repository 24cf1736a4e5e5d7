/**
 * @module server/request-series
 * The per-request series of `/metrics`: requests and their latency by method, route, status,
 * model and version, and scoring requests by model version and side of the canary split. They
 * are counted in plain maps on the request path and made into Prometheus samples when scraped.
 * prom-client's Counter and Histogram hash their label object on every call (sorting the names,
 * joining the values), three calls a request: about 4 us a request, 5% of a one-row scoring
 * request's CPU here (bench/serving/predict.ts).
 *
 * The metrics registered here have the shape prom-client's registries ask of a metric (name,
 * help, type, aggregator, `get`, `reset`), so `registry.metrics()` and the cluster's
 * aggregation (server/cluster) read them like prom-client's own.
 */
import type { Metric, Registry } from 'prom-client';

type Labels = Record<string, string | number>;

/** One sample as prom-client's registries read it: `metricName` names a histogram's parts. */
interface Sample {
  labels: Labels;
  value: number;
  metricName?: string;
}

/** A metric whose samples are made when it is read. */
class SampledMetric {
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    private readonly samples: () => Sample[],
    /** `registry.resetMetrics()` clears the counts behind it. */
    readonly reset: () => void,
  ) {}

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    const { name, help, type, aggregator } = this;
    return { name, help, type, aggregator, values: this.samples() };
  }
}

/** A counter's samples: each series' labels and requests. */
const counts = (series: Map<string, { labels: Labels; requests: number }>) => (): Sample[] =>
  [...series.values()].map((s) => ({ labels: { ...s.labels }, value: s.requests }));

/** An HTTP request's labels, in the order they are exposed. */
// A type, not an interface: it is passed where label records are taken.
export type RequestLabels = {
  method: string;
  route: string;
  status_code: string;
  model: string;
  version: string;
};

interface HttpSeries {
  labels: RequestLabels;
  /** Requests finished, aborted ones included. */
  requests: number;
  /** Requests answered, with their latency: the histogram's count, sum and buckets. */
  timed: number;
  sum: number;
  /** Answers per bucket (not cumulative); those beyond the last bound only in `timed`. */
  buckets: Float64Array;
}

interface ModelSeries {
  labels: { model: string; version: string; target: 'primary' | 'canary' };
  requests: number;
}

export interface RequestSeriesOptions {
  registry: Registry;
  /** Upper bounds of the latency histogram, in seconds, ascending. */
  buckets: readonly number[];
}

export class RequestSeries {
  private readonly http = new Map<string, HttpSeries>();
  private readonly models = new Map<string, ModelSeries>();
  private readonly bounds: readonly number[];

  constructor(options: RequestSeriesOptions) {
    this.bounds = options.buckets;
    const register = (metric: SampledMetric) =>
      // prom-client types a registry's metrics as its own classes; it reads them by shape.
      options.registry.registerMetric(metric as unknown as Metric);
    register(
      new SampledMetric(
        'keel_http_requests_total',
        'HTTP requests answered, by route and, for scoring routes, the model version that served them',
        'counter',
        counts(this.http),
        () => this.http.clear(),
      ),
    );
    register(
      new SampledMetric(
        'keel_http_request_duration_seconds',
        'Time from receiving a request to sending its response',
        'histogram',
        () => [...this.http.values()].filter((s) => s.timed > 0).flatMap((s) => this.histogramSamples(s)),
        () => this.http.clear(),
      ),
    );
    register(
      new SampledMetric(
        'keel_model_requests_total',
        'Scoring requests per model version, by side of the canary split (target: primary or canary)',
        'counter',
        counts(this.models),
        () => this.models.clear(),
      ),
    );
  }

  /** A request finished: answered in `seconds`, or aborted by its client (no latency). */
  request(labels: RequestLabels, seconds?: number): void {
    const key = `${labels.method}\u0000${labels.route}\u0000${labels.status_code}\u0000${labels.model}\u0000${labels.version}`;
    let s = this.http.get(key);
    if (!s) {
      s = { labels, requests: 0, timed: 0, sum: 0, buckets: new Float64Array(this.bounds.length) };
      this.http.set(key, s);
    }
    s.requests++;
    if (seconds === undefined || !Number.isFinite(seconds)) return;
    s.timed++;
    s.sum += seconds;
    const b = this.bucketOf(seconds);
    if (b < this.bounds.length) s.buckets[b]++;
  }

  /** A scoring request went to a model version, on the `target` side of its canary split. */
  modelRequest(model: string, version: string, target: 'primary' | 'canary'): void {
    const key = `${model}\u0000${version}\u0000${target}`;
    let s = this.models.get(key);
    if (!s) {
      s = { labels: { model, version, target }, requests: 0 };
      this.models.set(key, s);
    }
    s.requests++;
  }

  /** The index of the first bound at or above `seconds`, or the number of bounds. */
  private bucketOf(seconds: number): number {
    const { bounds } = this;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]) i++;
    return i;
  }

  /** A series' cumulative buckets, +Inf, sum and count, named as Prometheus histograms are. */
  private histogramSamples(s: HttpSeries): Sample[] {
    const bucket = 'keel_http_request_duration_seconds_bucket';
    const out: Sample[] = [];
    let cumulative = 0;
    this.bounds.forEach((le, i) => {
      cumulative += s.buckets[i];
      out.push({ labels: { le, ...s.labels }, value: cumulative, metricName: bucket });
    });
    out.push(
      { labels: { le: '+Inf', ...s.labels }, value: s.timed, metricName: bucket },
      { labels: { ...s.labels }, value: s.sum, metricName: 'keel_http_request_duration_seconds_sum' },
      { labels: { ...s.labels }, value: s.timed, metricName: 'keel_http_request_duration_seconds_count' },
    );
    return out;
  }
}
