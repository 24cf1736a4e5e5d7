/**
 * A shadow deployment over a real loopback server: version 1 answers every request while the
 * version behind `churn@shadow` scores a copy of each, logged in the prediction log marked shadow
 * and never answered; /metrics counts its copies apart from the answered requests. A shadow that
 * cannot take the primary's requests (no feature references) is refused and gets no copies.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportOnnx, type FeatureMatrix, predictGbdt, trainGbdt } from '../../src/ml/index.js';
import { PredictionLog, readPredictions } from '../../src/monitoring/index.js';
import { ModelServer } from '../../src/serving/index.js';
import { CHURN_FEATURES, CUSTOMERS, FEATURE_DAYS, featureValues } from '../helpers/feature-repo.js';
import { listenServing, type ServingApp } from '../helpers/server.js';
import { COLUMNS, type Row, type ServedWorld, servedWorld } from '../helpers/serving.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const REQUESTS = 40;

describe('shadow deployment', () => {
  let world: ServedWorld;
  let serving: ModelServer;
  let log: PredictionLog;
  let served: ServingApp;
  let base: string;
  let home: string;
  /** Version 2's own scores: another label, so its scores differ from version 1's. */
  let shadowScores: (rows: readonly Row[]) => number[];

  beforeAll(async () => {
    world = await servedWorld();
    const grid = FEATURE_DAYS.flatMap((d) =>
      Array.from({ length: CUSTOMERS }, (_, i) => featureValues(i + 1, d)),
    );
    const x: FeatureMatrix = {
      names: [...COLUMNS],
      columns: COLUMNS.map((c) => Float64Array.from(grid, (r) => r[c])),
    };
    const gbdt = trainGbdt(
      x,
      Float64Array.from(grid, (r) => (r.spend > 2.5 ? 1 : 0)),
      { iterations: 10, learningRate: 0.3, maxLeaves: 4, minSamplesLeaf: 2 },
    );
    shadowScores = (rows) =>
      Array.from(
        predictGbdt(gbdt, {
          names: [...COLUMNS],
          columns: COLUMNS.map((c) => Float64Array.from(rows, (r) => Math.fround(r[c] as number))),
        }),
      );
    const file = join(world.dir, 'shadow.onnx');
    writeFileSync(file, exportOnnx(gbdt));
    await world.registry.versions.create({ name: 'churn', source: file, features: CHURN_FEATURES });
    // Version 3: the same model, registered without the feature references /predict looks up.
    await world.registry.versions.create({ name: 'churn', source: file });
    await world.registry.setAlias('churn', 'shadow', 2);
    serving = await ModelServer.start({
      registry: world.registry,
      features: world.store,
      models: [{ uri: 'models:/churn/1', shadow: { uri: 'models:/churn@shadow' } }],
      refreshIntervalMs: 0,
    });
    home = tempDir();
    log = new PredictionLog({ home, flushIntervalMs: 60_000 });
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

  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const answer = (await res.json()) as { version?: string; predictions: number[] };
    return { status: res.status, id: res.headers.get('x-request-id') as string, body: answer };
  };
  const rowOf = (i: number): Row => ({ tenure: i % 30, orders: i % 7, spend: (i % 50) / 10 });

  it('scores a copy of every request on the shadow, logs it marked shadow, and answers only with the primary', async () => {
    expect(serving.list()[0].shadow).toEqual({ uri: 'models:/churn@shadow', version: '2', ready: true });
    const ids = new Set<string>();
    for (let i = 0; i < REQUESTS; i++) {
      const r =
        i % 2 === 0
          ? await post('/predict', { entities: { customer_id: [(i % CUSTOMERS) + 1] } })
          : await post('/invocations', { dataframe_records: [rowOf(i)] });
      expect(r.status).toBe(200);
      if (i % 2 === 0) expect(r.body.version).toBe('1');
      else expect(r.body.predictions[0]).toBeCloseTo(world.expected([rowOf(i)])[0], 6);
      ids.add(r.id);
    }
    await waitFor(
      'the shadow to score every copy',
      async () => serving.shadowTraffic(),
      (t) => t[0]?.requests === REQUESTS,
    );
    expect(serving.shadowTraffic()).toEqual([
      { model: 'churn', version: '2', requests: REQUESTS, errors: 0 },
    ]);

    await log.flush();
    const rows = await readPredictions({ home, model: 'churn' });
    const primary = rows.filter((p) => !p.shadow);
    const shadow = rows.filter((p) => p.shadow);
    expect(primary).toHaveLength(REQUESTS);
    expect(shadow).toHaveLength(REQUESTS);
    expect(new Set(primary.map((p) => p.version))).toEqual(new Set(['1']));
    expect(new Set(shadow.map((p) => p.version))).toEqual(new Set(['2']));
    expect(new Set(shadow.map((p) => p.requestId))).toEqual(ids);
    expect(shadow.every((p) => !p.canary)).toBe(true);
    // The shadow's rows carry its own scores of the same inputs.
    for (const s of shadow) {
      const p = primary.find((x) => x.requestId === s.requestId && x.row === s.row);
      expect(s.features).toEqual(p?.features);
      const row = s.features as Row;
      expect(s.score).toBeCloseTo(shadowScores([row])[0], 6);
      expect(p?.score).toBeCloseTo(world.expected([row])[0], 6);
    }
    expect(
      shadow.some(
        (s) =>
          Math.abs((s.score ?? 0) - (primary.find((p) => p.requestId === s.requestId)?.score ?? 0)) > 1e-3,
      ),
    ).toBe(true);

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain(`keel_model_shadow_requests_total{model="churn",version="2"} ${REQUESTS}`);
    expect(metrics).toContain('keel_model_shadow_errors_total{model="churn",version="2"} 0');
    // Never answered: no answered request is counted for the shadow's version.
    expect(metrics).not.toMatch(/keel_model_requests_total\{[^}]*version="2"/);
  });

  it('refuses a shadow without the feature references in use: it gets no copies, and the primary answers on', async () => {
    await world.registry.setAlias('churn', 'shadow', 3);
    await serving.refresh();
    const [served] = serving.list();
    expect(served.shadow).toMatchObject({
      version: null,
      ready: false,
      lastError: { version: '3', refused: true },
    });
    expect(served.shadow?.lastError?.message).toMatch(/it names no features to look up/);
    const before = serving.shadowTraffic();
    for (let i = 0; i < 10; i++)
      expect((await post('/predict', { entities: { customer_id: [i + 1] } })).status).toBe(200);
    expect(serving.shadowTraffic()).toEqual(before);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('keel_model_swap_refused{model="churn",role="shadow",version="3"} 1');
  });
});
