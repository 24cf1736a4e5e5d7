/**
 * The prediction log and Prometheus metrics of a real loopback server scoring a Keel GBDT (version
 * 1, with version 2 as a canary taking about half the traffic): every answered scoring request's
 * rows are in the Parquet log with the request id its response carried, labels posted to
 * `/feedback` join them, `/metrics` counts what was served, and a log that cannot write fails no
 * request.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PredictionLog, readPredictions } from '../../src/monitoring/index.js';
import { buildApp } from '../../src/server/index.js';
import { ModelServer } from '../../src/serving/index.js';
import { CHURN_FEATURES, featureValues } from '../helpers/feature-repo.js';
import { listenServing, type ServingApp } from '../helpers/server.js';
import { COLUMNS, type ServedWorld, servedWorld } from '../helpers/serving.js';
import { tempDir } from '../helpers/temp.js';

interface Answer {
  status: number;
  id: string | null;
  body: Record<string, unknown>;
  text: string;
}

async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {}
  return { status: res.status, id: res.headers.get('x-request-id'), body: parsed, text } satisfies Answer;
}

/** The samples of one metric in Prometheus text format, by their label set. */
function samples(text: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .map((line) => {
      const m = /^[^{\s]+(?:\{(.*)\})?\s+(\S+)$/.exec(line) as RegExpExecArray;
      const labels = Object.fromEntries(
        [...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]),
      );
      return { labels, value: Number(m[2]) };
    });
}
const sum = (list: Array<{ value: number }>) => list.reduce((s, x) => s + x.value, 0);

/** A model with two versions, the second a canary taking half of the requests (seeded draw). */
async function startServing(world: ServedWorld): Promise<ModelServer> {
  return ModelServer.start({
    registry: world.registry,
    features: world.store,
    models: [{ uri: 'models:/churn/1', canary: { uri: 'models:/churn/2', percent: 50 } }],
    seed: 7,
    refreshIntervalMs: 0,
    // Customer 999 has no features online: declared scored, so the log shows its inputs null.
    inputPolicies: { models: { churn: { allMissing: 'score' } } },
  });
}

describe('prediction log and metrics over HTTP', () => {
  let world: ServedWorld;
  let serving: ModelServer;
  let log: PredictionLog;
  let served: ServingApp;
  let base: string;
  let home: string;

  beforeAll(async () => {
    world = await servedWorld();
    await world.registry.versions.create({
      name: 'churn',
      source: join(world.dir, 'churn.onnx'),
      features: CHURN_FEATURES,
    });
    serving = await startServing(world);
    home = tempDir();
    // The timer never fires in the test: rows are written by the explicit flushes.
    log = new PredictionLog({ home, flushIntervalMs: 3_600_000 });
    served = await listenServing({
      tracking: world.tracking,
      registry: world.registry,
      features: world.store,
      serving,
      predictionLog: log,
    });
    base = served.base;
  });
  afterAll(async () => {
    await served?.close();
    await world?.close();
  });

  it('logs every answered row of every scoring route, under the id its response carried', async () => {
    const rows = [
      { tenure: 3, orders: 1, spend: 0.4 },
      { tenure: 25, orders: 6, spend: null },
    ];
    const answers: Array<{ answer: Answer; scores: number[]; rows: number }> = [];
    for (let i = 0; i < 8; i++) {
      const entity = await call(base, 'POST', '/predict', { entities: { customer_id: [i + 1, 999] } });
      answers.push({
        answer: entity,
        rows: 2,
        scores: (entity.body.predictions as Array<{ score: number }>).map((p) => p.score),
      });
      const mlflow = await call(base, 'POST', '/invocations', { dataframe_records: rows });
      answers.push({ answer: mlflow, rows: 2, scores: mlflow.body.predictions as number[] });
      const oip = await call(base, 'POST', '/v2/models/churn/infer', {
        inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [i, 2, 1.5] }],
      });
      const outputs = oip.body.outputs as Array<{ data: number[] }>;
      answers.push({ answer: oip, rows: 1, scores: outputs[0].data });
    }
    // A client's own id is kept; a malformed one is refused, and that request logs nothing.
    const own = await call(
      base,
      'POST',
      '/invocations',
      { inputs: [[1, 2, 3]] },
      { 'x-request-id': 'client-42.a' },
    );
    answers.push({ answer: own, rows: 1, scores: own.body.predictions as number[] });
    const bad = await call(
      base,
      'POST',
      '/invocations',
      { inputs: [[1, 2, 3]] },
      { 'x-request-id': 'no spaces' },
    );
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/^the X-Request-Id header must be 1 to 128 /);
    const refused = await call(base, 'POST', '/predict', { rows: [{ tenure: 'abc', orders: 1, spend: 1 }] });
    expect(refused.status).toBe(400);

    for (const { answer } of answers) expect(answer.status, answer.text).toBe(200);
    expect(own.id).toBe('client-42.a');
    const ids = answers.map((a) => a.answer.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(bad.id).toMatch(/^[0-9a-f-]{36}$/);

    const written = await log.flush();
    const total = answers.reduce((s, a) => s + a.rows, 0);
    expect(written.rows).toBe(total);
    const logged = await readPredictions({ home, model: 'churn' });
    expect(logged).toHaveLength(total);
    for (const { answer, scores } of answers) {
      const mine = logged.filter((p) => p.requestId === answer.id).sort((a, b) => a.row - b.row);
      expect(mine.map((p) => p.score)).toEqual(scores);
      // One request, one version; the canary flag says which side of the split it was.
      const [{ version, canary }] = mine;
      expect(mine.every((p) => p.version === version && p.canary === canary)).toBe(true);
      expect(canary).toBe(version === '2');
      if ('version' in answer.body) expect(version).toBe(answer.body.version);
      if ('model_version' in answer.body) expect(version).toBe(answer.body.model_version);
      expect(mine.every((p) => p.model === 'churn' && p.latencyMs > 0)).toBe(true);
    }
    const versions = new Set(logged.map((p) => p.version));
    expect(versions).toEqual(new Set(['1', '2']));

    // /predict logs the entity key and the features looked up (none for an unknown customer).
    const entity = logged.filter((p) => p.requestId === answers[0].answer.id);
    expect(entity.map((p) => p.features)).toEqual([
      { customer_id: 1, ...featureValues(1, 20) },
      { customer_id: 999, tenure: null, orders: null, spend: null },
    ]);
    // The other routes log the encoded inputs by column name (float32, as the model got them);
    // the log is one table, so their rows have the entity key column too, empty.
    const records = logged.filter((p) => p.requestId === answers[1].answer.id);
    expect(records.map((p) => p.features)).toEqual(
      rows.map((r) => ({
        customer_id: null,
        ...Object.fromEntries(COLUMNS.map((c) => [c, r[c] === null ? null : Math.fround(r[c])])),
      })),
    );
    const tensor = logged.find((p) => p.requestId === answers[5].answer.id);
    expect(tensor?.features).toEqual({ customer_id: null, tenure: 1, orders: 2, spend: 1.5 });
  });

  it('joins labels posted to /feedback by request id and row', async () => {
    const a = await call(base, 'POST', '/invocations', {
      inputs: [
        [1, 2, 3],
        [4, 5, 6],
      ],
    });
    const b = await call(base, 'POST', '/predict', { rows: [[7, 1, 2]] });
    expect((await call(base, 'POST', '/feedback', { request_id: b.id, label: true })).body).toEqual({
      recorded: 1,
    });
    const batch = await call(base, 'POST', '/feedback', [
      { request_id: a.id, label: 0 },
      { request_id: a.id, row: 1, label: 1 },
    ]);
    expect(batch).toMatchObject({ status: 200, body: { recorded: 2 } });
    const badLabel = await call(base, 'POST', '/feedback', { request_id: a.id, label: 'yes' });
    expect(badLabel.status).toBe(400);
    expect(badLabel.body.message).toMatch(/^Invalid feedback: label: /);
    const badId = await call(base, 'POST', '/feedback', [{ request_id: 'a b', label: 1 }]);
    expect(badId.body.message).toMatch(/^Invalid feedback: 0\.request_id: must be/);

    expect(await log.flush()).toMatchObject({ rows: 3, labels: 3 });
    const labelled = await readPredictions({ home, model: 'churn', labels: true });
    const byId = (id: string | null) =>
      labelled.filter((p) => p.requestId === id).map((p) => [p.row, p.label]);
    expect(byId(a.id)).toEqual([
      [0, 0],
      [1, 1],
    ]);
    expect(byId(b.id)).toEqual([[0, 1]]);
    expect(labelled.filter((p) => p.label !== null)).toHaveLength(3);
  });

  it('exposes request counts, latency and batch histograms, the canary share and the log on /metrics', async () => {
    const before = await call(base, 'GET', '/metrics');
    const n = 12;
    for (let i = 0; i < n; i++) await call(base, 'POST', '/predict', { rows: [[i, 1, 2]] });
    await call(base, 'GET', '/v2/models/nope');
    const res = await fetch(`${base}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const predict = (t: string) =>
      samples(t, 'keel_http_requests_total').filter(
        (s) => s.labels.route === '/predict' && s.labels.status_code === '200',
      );
    expect(sum(predict(text)) - sum(predict(before.text))).toBe(n);
    expect(new Set(predict(text).map((s) => s.labels.version))).toEqual(new Set(['1', '2']));
    expect(predict(text).every((s) => s.labels.model === 'churn' && s.labels.method === 'POST')).toBe(true);
    // Refused input counts under its status; the route is the pattern, not the URL.
    expect(samples(text, 'keel_http_requests_total')).toContainEqual({
      labels: { method: 'GET', route: '/v2/models/:name', status_code: '404', model: '', version: '' },
      value: 1,
    });

    const buckets = samples(text, 'keel_http_request_duration_seconds_bucket').filter(
      (s) => s.labels.route === '/predict' && s.labels.status_code === '200',
    );
    const inf = buckets.filter((s) => s.labels.le === '+Inf');
    expect(sum(inf)).toBe(sum(predict(text)));
    // Cumulative buckets: each is at most the next; sub-millisecond buckets exist.
    const v1 = buckets.filter((s) => s.labels.version === '1');
    for (let i = 1; i < v1.length; i++) expect(v1[i].value).toBeGreaterThanOrEqual(v1[i - 1].value);
    expect(v1.map((s) => s.labels.le)).toContain('0.0005');

    const batches = samples(text, 'keel_model_batch_size_count');
    expect(sum(batches)).toBeGreaterThanOrEqual(n);
    const sides = samples(text, 'keel_model_requests_total');
    const canary = sum(sides.filter((s) => s.labels.target === 'canary'));
    const primary = sum(sides.filter((s) => s.labels.target === 'primary'));
    expect(canary).toBeGreaterThan(0);
    expect(primary).toBeGreaterThan(0);
    expect(sides.filter((s) => s.labels.target === 'canary').every((s) => s.labels.version === '2')).toBe(
      true,
    );
    expect(canary + primary).toBe(
      sum(samples(text, 'keel_http_requests_total').filter((s) => s.labels.model === 'churn')),
    );
    // The scrape itself is the one request in flight.
    expect(samples(text, 'keel_http_requests_in_flight')).toEqual([{ labels: {}, value: 1 }]);
    expect(samples(text, 'keel_prediction_log_buffered_rows')[0].value).toBe(n);
    expect(samples(text, 'keel_prediction_log_dropped_rows_total')[0].value).toBe(0);
    expect(samples(text, 'keel_prediction_log_written_rows_total')[0].value).toBe(log.stats().writtenRows);
  });
});

describe('a prediction log that cannot write', () => {
  it('fails no request, keeps the newest rows within its bound and counts what it drops', async () => {
    const world = await servedWorld();
    const serving = await ModelServer.start({
      registry: world.registry,
      features: world.store,
      models: ['models:/churn/1'],
      refreshIntervalMs: 0,
    });
    // The home is a file: every write fails, whoever runs the test.
    const home = join(tempDir(), 'home');
    writeFileSync(home, '');
    const log = new PredictionLog({ home, flushIntervalMs: 20, maxBufferRows: 3 });
    const app = await buildApp({
      services: { tracking: world.tracking, registry: world.registry, serving, predictionLog: log },
      logger: false,
    });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      for (let i = 0; i < 5; i++) {
        const r = await call(base, 'POST', '/invocations', { inputs: [[i, 1, 2]] });
        expect(r.status, r.text).toBe(200);
      }
      // A failed write may have come before the last requests: wait until all five are accounted for.
      await expect
        .poll(() => {
          const stats = log.stats();
          return stats.failedFlushes > 0 && stats.bufferedRows + stats.droppedRows === 5;
        })
        .toBe(true);
      expect(log.stats()).toMatchObject({ bufferedRows: 3, droppedRows: 2, writtenRows: 0 });
      const text = await (await fetch(`${base}/metrics`)).text();
      expect(samples(text, 'keel_prediction_log_dropped_rows_total')[0].value).toBe(2);
      expect(samples(text, 'keel_prediction_log_failed_flushes_total')[0].value).toBeGreaterThan(0);
    } finally {
      await app.close();
      await log.close();
      await serving.close();
      await world.close();
    }
    // At close the rows it could not write count as dropped too.
    expect(log.stats()).toMatchObject({ bufferedRows: 0, droppedRows: 5 });
  });
});
