/**
 * Monitoring over a real loopback server: scoring requests are counted per minute into the
 * database (request figures), a monitor run over the logged window is served under
 * `/api/2.0/keel/monitoring`, and its figures appear as gauges on `/metrics`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, setProcessTime } from '../../src/core/index.js';
import { Monitoring, PredictionLog, RequestFigures } from '../../src/monitoring/index.js';
import { buildApp } from '../../src/server/index.js';
import { ModelServer } from '../../src/serving/index.js';
import { CUSTOMERS, FEATURE_DAYS, featureValues } from '../helpers/feature-repo.js';
import { type ServedWorld, servedWorld } from '../helpers/serving.js';
import { tempDir } from '../helpers/temp.js';

const AT = Date.UTC(2024, 0, 22, 10, 0);

describe('monitoring over HTTP', () => {
  let world: ServedWorld;
  let serving: ModelServer;
  let monitoring: Monitoring;
  let log: PredictionLog;
  let figures: RequestFigures;
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    // The whole process runs at AT: logged rows, request figures and the monitor agree on "now".
    setProcessTime(AT);
    world = await servedWorld();
    const dir = tempDir();
    const config = loadConfig({ cwd: dir, env: {} });
    monitoring = await Monitoring.open(config, { registry: world.registry });
    // The model's training data, as the profile's reference: every customer on every feature day.
    const rows = FEATURE_DAYS.flatMap((d) =>
      Array.from({ length: CUSTOMERS }, (_, i) => featureValues(i + 1, d)),
    );
    const csv = join(dir, 'training.csv');
    writeFileSync(
      csv,
      `tenure,orders,spend\n${rows.map((r) => `${r.tenure},${r.orders},${r.spend}`).join('\n')}\n`,
    );
    await monitoring.profile('churn', 1, { data: csv });
    serving = await ModelServer.start({
      registry: world.registry,
      features: world.store,
      models: ['models:/churn/1'],
      refreshIntervalMs: 0,
    });
    log = new PredictionLog({ home: config.home, flushIntervalMs: 3_600_000 });
    figures = new RequestFigures({ db: world.tracking.db, flushIntervalMs: 3_600_000 });
    app = await buildApp({
      services: {
        tracking: world.tracking,
        registry: world.registry,
        features: world.store,
        serving,
        predictionLog: log,
        monitoring,
        requestFigures: figures,
      },
      logger: false,
    });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    setProcessTime(undefined);
    await app?.close();
    await log?.close();
    await figures?.close();
    await serving?.close();
    await monitoring?.close();
    await world?.close();
  });

  const get = async (path: string) => {
    const res = await fetch(`${base}${path}`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('counts scoring requests per minute, runs a monitor on the logged window and serves it', async () => {
    for (let i = 0; i < 40; i++) {
      const res = await fetch(`${base}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ dataframe_records: [featureValues((i % CUSTOMERS) + 1, 20)] }),
      });
      expect(res.status).toBe(200);
    }
    // A request the model cannot take: a 400, answered, not failed.
    const bad = await fetch(`${base}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"dataframe_records": [{"tenure": "x"}]}',
    });
    expect(bad.status).toBe(400);
    await log.flush();
    await figures.flush();

    const report = await monitoring.run('churn', { windowMs: 3_600_000 });
    expect(report.status).toBe('ok');
    expect(report.rows).toBe(40);
    expect(report.versions[0].service).toMatchObject({ version: '1', requests: 41, failed: 0, errorRate: 0 });
    expect(report.versions[0].features.map((f) => f.name)).toEqual(['tenure', 'orders', 'spend']);

    const runs = await get('/api/2.0/keel/monitoring/runs?model=churn');
    expect(runs.status).toBe(200);
    expect((runs.body.runs as Array<{ id: number }>).map((r) => r.id)).toEqual([report.id]);
    const latest = await get('/api/2.0/keel/monitoring/runs/latest');
    expect((latest.body.runs as Array<{ rows: number }>)[0].rows).toBe(40);
    const one = await get(`/api/2.0/keel/monitoring/runs/get?run_id=${report.id}`);
    const { alerts, ...stored } = report;
    expect(one.body.run).toEqual(JSON.parse(JSON.stringify(stored)));
    // Day 20's customers are not like the whole training set: the run fired alerts, served too.
    expect(alerts.fired.length).toBeGreaterThan(0);
    const served = await get('/api/2.0/keel/monitoring/alerts?model=churn');
    expect((served.body.alerts as Array<{ id: number }>).map((a) => a.id).sort()).toEqual(
      alerts.fired.map((a) => a.id).sort(),
    );
    const profile = await get('/api/2.0/keel/monitoring/profiles/get?name=churn&version=1');
    expect(profile.body.profile).toMatchObject({ model: 'churn', version: '1', rows: 60 });
    expect(
      (profile.body.profile as { features: Array<{ sample_rows: number }> }).features[0].sample_rows,
    ).toBe(60);
    expect(JSON.stringify(profile.body)).not.toContain('f64');

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/keel_monitor_window_rows\{model="churn",version="1"\} 40/);
    expect(metrics).toMatch(/keel_monitor_feature_psi\{model="churn",version="1",feature="tenure"\} \d/);
    expect(metrics).toMatch(
      /keel_monitor_feature_missing_share\{model="churn",version="1",feature="spend"\} 0/,
    );
    expect(metrics).toMatch(
      new RegExp(`keel_monitor_last_run_timestamp_seconds\\{model="churn"\\} ${report.window.end / 1000}`),
    );
  });

  it('answers bad and unknown queries with the right status and a message', async () => {
    expect(await get('/api/2.0/keel/monitoring/runs')).toMatchObject({
      status: 400,
      body: { error_code: 'INVALID_PARAMETER_VALUE' },
    });
    const notNumber = await get('/api/2.0/keel/monitoring/runs/get?run_id=abc');
    expect(notNumber.status).toBe(400);
    expect(notNumber.body.message).toMatch(/run_id/);
    expect(await get('/api/2.0/keel/monitoring/runs/get?run_id=424242')).toMatchObject({
      status: 404,
      body: { error_code: 'RESOURCE_DOES_NOT_EXIST' },
    });
    expect((await get('/api/2.0/keel/monitoring/runs?model=churn&max_results=0')).status).toBe(400);
    expect((await get('/api/2.0/keel/monitoring/profiles/get?name=nope&version=1')).status).toBe(404);
    expect(await get('/api/2.0/keel/monitoring/alerts?status=all')).toMatchObject({
      status: 200,
      body: { pending_notifications: [] },
    });
    const status = await get('/api/2.0/keel/monitoring/alerts?status=loud');
    expect(status.status).toBe(400);
    expect(status.body.message).toMatch(/status/);
  });
});
