/**
 * The request series of /metrics are counted without prom-client's Counter and Histogram: their
 * exposition must be what prom-client itself prints for the same requests, alone and summed
 * across a cluster's workers.
 */
import { AggregatorRegistry, Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LATENCY_BUCKETS } from '../../src/monitoring/index.js';
import { type RequestLabels, RequestSeries } from '../../src/server/request-series.js';

const LABELS = ['method', 'route', 'status_code', 'model', 'version'] as const;

/** prom-client's own metrics, fed the same requests. */
function reference() {
  const registry = new Registry();
  const registers = [registry];
  const requests = new Counter({
    name: 'keel_http_requests_total',
    help: 'HTTP requests answered, by route and, for scoring routes, the model version that served them',
    labelNames: LABELS,
    registers,
  });
  const duration = new Histogram({
    name: 'keel_http_request_duration_seconds',
    help: 'Time from receiving a request to sending its response',
    labelNames: LABELS,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const models = new Counter({
    name: 'keel_model_requests_total',
    help: 'Scoring requests per model version, by side of the canary split (target: primary or canary)',
    labelNames: ['model', 'version', 'target'],
    registers,
  });
  return {
    registry,
    request(labels: RequestLabels, seconds?: number) {
      requests.inc({ ...labels });
      if (seconds !== undefined) duration.observe({ ...labels }, seconds);
    },
    modelRequest(model: string, version: string, target: 'primary' | 'canary') {
      models.inc({ model, version, target });
    },
  };
}

function ours() {
  const registry = new Registry();
  const series = new RequestSeries({ registry, buckets: LATENCY_BUCKETS });
  return {
    registry,
    request: (labels: RequestLabels, seconds?: number) => series.request({ ...labels }, seconds),
    modelRequest: (model: string, version: string, target: 'primary' | 'canary') =>
      series.modelRequest(model, version, target),
  };
}

type Sink = ReturnType<typeof ours>;

const invocations = (status: string, version = '3'): RequestLabels => ({
  method: 'POST',
  route: '/invocations',
  status_code: status,
  model: 'churn',
  version,
});

/** Requests with latencies on, between and beyond the bounds, an abort, and a canary. */
function traffic(sink: Sink, offset = 0): void {
  const latencies = [0, 0.00025, 0.0003, 0.001, 0.0049, 0.005, 2.5, 2.6, 40, 1e-9];
  latencies.forEach((s, i) => {
    sink.request(invocations(i % 3 === 0 ? '400' : '200'), s + offset);
    sink.modelRequest('churn', '3', 'primary');
  });
  sink.request(invocations('200', '4'), 0.002);
  sink.modelRequest('churn', '4', 'canary');
  // Aborted by its client: counted, not timed.
  sink.request(invocations('499'));
  sink.modelRequest('churn', '3', 'primary');
  sink.request({ method: 'GET', route: '/health', status_code: '200', model: '', version: '' }, 0.0001);
  sink.request({ method: 'GET', route: 'unmatched', status_code: '404', model: '', version: '' }, 0.0007);
}

describe('request series', () => {
  it("expose exactly what prom-client's counters and histogram expose for the same requests", async () => {
    const a = ours();
    const b = reference();
    traffic(a);
    traffic(b);
    expect(await a.registry.metrics()).toBe(await b.registry.metrics());
    expect(await a.registry.metrics()).toContain(
      'keel_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/invocations",status_code="200",model="churn",version="3"} 4',
    );
  });

  it('sum across workers as prom-client sums its own', async () => {
    const workers = [ours(), ours()];
    const references = [reference(), reference()];
    for (const [i, sink] of [...workers.entries(), ...references.entries()]) traffic(sink, i * 0.001);
    const summed = async (registries: Registry[]) =>
      AggregatorRegistry.aggregate(await Promise.all(registries.map((r) => r.getMetricsAsJSON()))).metrics();
    expect(await summed(workers.map((w) => w.registry))).toBe(
      await summed(references.map((r) => r.registry)),
    );
  });

  it('start again from zero when the registry is reset, and expose no series before a request', async () => {
    const a = ours();
    const empty = await a.registry.metrics();
    expect(empty).not.toContain('keel_http_requests_total{');
    traffic(a);
    a.registry.resetMetrics();
    expect(await a.registry.metrics()).toBe(empty);
  });
});
