import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/index.js';
import {
  binCounts,
  type Evaluation,
  histogramQuantile,
  LATENCY_BUCKETS,
  monitoringSettings,
  psiOfShares,
  RequestFigures,
  sharesOf,
} from '../../src/monitoring/index.js';
import { serviceUrl } from '../helpers/services.js';
import { logTraffic, type MonitoredWorld, monitoredWorld, rowsOf } from './world.js';

const HOUR = 3_600_000;
const H = Date.UTC(2024, 4, 1, 0);
const DAY2 = H + 24 * HOUR;
const DAY3 = H + 48 * HOUR;

const breached = (evaluations: Evaluation[], rule: string) =>
  evaluations.filter((e) => e.rule === rule && e.breached).map((e) => e.subject);

describe('monitor config', () => {
  it('fills the seed thresholds, lets a model and a feature override them, and names a bad key', () => {
    const s = monitoringSettings({
      thresholds: { psi: 0.25 },
      models: {
        churn: {
          window: '2h',
          schedule: '5 * * * *',
          thresholds: { p99Ms: 50 },
          featureThresholds: { tenure: { psi: null } },
        },
      },
    });
    expect(s.models.churn).toMatchObject({ windowMs: 2 * HOUR, schedule: '5 * * * *' });
    expect(s.models.churn.thresholds).toMatchObject({
      psi: 0.25,
      p99Ms: 50,
      missingShare: 0.05,
      errorRate: 0.01,
    });
    expect(s.defaults.predictionKsP).toBe(0.01);
    expect(() => monitoringSettings({ models: { churn: { schedule: '61 * * * *' } } })).toThrow(
      /models\.churn\.schedule: is not a valid cron expression/,
    );
    expect(() => monitoringSettings({ models: { churn: { thresholds: { psi: -1 } } } })).toThrow(
      /models\.churn\.thresholds\.psi/,
    );
    expect(() => monitoringSettings({ models: { churn: { window: 'soon' } } })).toThrow(
      /models\.churn\.window/,
    );
    expect(() => monitoringSettings({ modles: {} })).toThrow(/modles/);
  });

  it('reads a latency quantile off the histogram as Prometheus does', () => {
    const buckets = new Array(LATENCY_BUCKETS.length + 1).fill(0);
    buckets[3] = 90; // (1 ms, 2.5 ms]
    buckets[9] = 10; // (100 ms, 250 ms]
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.001 + 0.0015 * (50 / 90), 12);
    expect(histogramQuantile(0.99, buckets)).toBeCloseTo(0.1 + 0.15 * (9 / 10), 12);
    expect(
      histogramQuantile(
        0.5,
        buckets.map(() => 0),
      ),
    ).toBeNull();
  });
});

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`monitor runs (${backend})`, async () => {
    const pg = backend === 'postgres' ? await serviceUrl('postgres') : undefined;
    const run = backend === 'sqlite' || pg !== undefined;
    let world: MonitoredWorld;
    beforeAll(async () => {
      if (!run) return;
      world = await monitoredWorld(backend, pg);
      // Day 1: an hour like the training data (labelled), then an hour shifted, then one whose
      // `orders` is always missing. Day 2: traffic without `spend`.
      await logTraffic(world, [
        { at: H, rows: rowsOf(500, 11), labels: true, prefix: 'a' },
        { at: H + HOUR, rows: rowsOf(500, 12, 1), prefix: 'b' },
        { at: H + 2 * HOUR, rows: rowsOf(200, 13), blank: 'orders', prefix: 'c' },
      ]);
      await logTraffic(world, [{ at: DAY2, rows: rowsOf(200, 14), drop: 'spend', prefix: 'd' }]);
    }, 60_000);
    afterAll(async () => world?.close());

    it.skipIf(!run)(
      'judges a window like the training data clear, with realised performance and Evidently beside PSI',
      async () => {
        const r = await world.monitoring.run('churn', { asOf: H + HOUR });
        expect(r).toMatchObject({
          status: 'ok',
          rows: 500,
          window: { start: H, end: H + HOUR },
          cause: 'manual',
        });
        expect(r.breaches).toEqual([]);
        const v = r.versions[0];
        expect(v.reference).toEqual({ kind: 'profile', rows: 2000 });
        expect(v.features.map((f) => f.name)).toEqual(['tenure', 'orders', 'spend']);
        for (const f of v.features) {
          expect(f.status).toBe('ok');
          expect(f.psi).toBeLessThan(0.2);
          expect(f.missingShare).toBe(0);
          // 2,000 reference rows (> 1,000), many values: Evidently picks the normed Wasserstein.
          expect(f.test?.name).toBe('wasserstein');
        }
        // DuckDB's bin counts over every row give the PSI the JS binning gives (values logged as FLOAT).
        const profile = await world.monitoring.profiles.get('churn', 1);
        for (const [j, f] of (profile?.features ?? []).entries()) {
          if (f.type !== 'numerical') continue;
          const logged = Float64Array.from(rowsOf(500, 11), (r) => Math.fround(Object.values(r)[j]));
          expect(v.features[j].psi).toBeCloseTo(
            psiOfShares(f.shares, sharesOf(binCounts(logged, f.breakpoints).counts)),
            14,
          );
        }
        expect(v.prediction?.ks?.pValue).toBeGreaterThan(0.01);
        expect(v.performance).toMatchObject({
          status: 'ok',
          labelled: 500,
          coverage: 1,
          metric: 'roc_auc',
          baseline: 0.9,
        });
        expect(v.performance?.value).toBeGreaterThan(0.5);
        // Every rule was judged (so an alert on it could resolve), none breached.
        const rules = new Set(r.evaluations.map((e) => e.rule));
        for (const rule of ['schema', 'missing_share', 'psi', 'prediction_drift', 'performance_drop'])
          expect(rules).toContain(rule);
        for (const step of ['read', 'profile', 'quality', 'drift', 'prediction', 'performance', 'service'])
          expect(r.timings[step]).toBeGreaterThanOrEqual(0);
      },
    );

    it.skipIf(!run)('flags PSI and prediction drift on a shifted window', async () => {
      const r = await world.monitoring.run('churn', { asOf: H + 2 * HOUR });
      expect(breached(r.breaches, 'psi')).toEqual(['tenure', 'spend']);
      expect(breached(r.breaches, 'prediction_drift')).toEqual(['score']);
      const tenure = r.versions[0].features[0];
      expect(tenure.test?.drifted).toBe(true);
      // Without labels there is no performance verdict, and no performance rule is judged.
      expect(r.versions[0].performance?.status).toBe('no_data');
      expect(r.evaluations.some((e) => e.rule === 'performance_drop')).toBe(false);
    });

    it.skipIf(!run)(
      'raises a quality breach for an all-missing column, whose drift is "no data"',
      async () => {
        const r = await world.monitoring.run('churn', { asOf: H + 3 * HOUR });
        expect(breached(r.breaches, 'missing_share')).toEqual(['orders']);
        const orders = r.versions[0].features.find((f) => f.name === 'orders');
        expect(orders).toMatchObject({ status: 'no_data', missingShare: 1, psi: null, test: null });
      },
    );

    it.skipIf(!run)('raises schema drift for a feature missing from the traffic', async () => {
      const r = await world.monitoring.run('churn', { asOf: DAY2 + HOUR });
      expect(r.versions[0].schema).toEqual({ missing: ['spend'], added: [], retyped: [] });
      expect(breached(r.breaches, 'schema')).toEqual(['spend']);
      expect(r.versions[0].features.find((f) => f.name === 'spend')?.status).toBe('missing');
    });

    it.skipIf(!run)('says "no data" for an empty window, never "no drift"', async () => {
      const r = await world.monitoring.run('churn', { asOf: DAY3 });
      expect(r).toMatchObject({ status: 'no_data', rows: 0, versions: [], evaluations: [], breaches: [] });
    });

    it.skipIf(!run)('judges latency and errors from the request figures a server stored', async () => {
      const clock = new ManualClock(H + 30 * 60_000);
      const figures = new RequestFigures({ db: world.registry.tracking.db, clock });
      for (let i = 0; i < 200; i++)
        figures.record('/predict', 'churn', '1', i < 4 ? 500 : 200, i < 10 ? 0.3 : 0.002);
      clock.advance(60_000);
      figures.record('/predict', 'churn', '1', 200, 0.002);
      // Another process's figures for the same minute add up, never overwrite.
      const other = new RequestFigures({ db: world.registry.tracking.db, clock });
      other.record('/predict', 'churn', '1', 200, 0.002);
      await figures.close();
      await other.close();
      const r = await world.monitoring.run('churn', { asOf: H + HOUR });
      const s = r.versions[0].service;
      expect(s).toMatchObject({ version: '1', requests: 202, failed: 4 });
      expect(s?.errorRate).toBeCloseTo(4 / 202, 12);
      expect(s?.p99Ms).toBeGreaterThan(100);
      expect(s?.throughput).toBeCloseTo(202 / 3600, 12);
      expect(breached(r.breaches, 'error_rate')).toEqual(['service']);
      expect(breached(r.breaches, 'latency_p99')).toEqual(['service']);
    });

    it.skipIf(!run)(
      'keeps every run: latest per model, history newest first, and volume against earlier windows',
      async () => {
        const latest = await world.monitoring.runs.latest();
        expect(latest.map((r) => r.model)).toEqual(['churn']);
        const history = await world.monitoring.runs.history('churn');
        expect(history.length).toBe(6);
        expect(history[0].window.end).toBe(DAY3);
        expect(await world.monitoring.runs.get(history[1].id as number)).toEqual(history[1]);
        const again = await world.monitoring.run('churn', { asOf: H + 2 * HOUR });
        expect(again.volume.previousMean).not.toBeNull();
        await expect(world.monitoring.runs.get(99_999)).rejects.toThrow(/monitor run 99999 does not exist/);
      },
    );
  });
}
