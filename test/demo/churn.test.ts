/**
 * `keel demo --json` in a fresh folder, as a user runs it: the whole churn use case on the real
 * Online Retail data (541,909 rows, shipped with the example), checked against the data README's
 * figures and what the stores hold afterwards.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/index.js';
import { type ChurnDemoResult, formatStep, SERVE_AT } from '../../src/demo/index.js';
import { startServer } from '../../src/server/index.js';
import { LINEAGE_TAGS, Tracking } from '../../src/tracking/index.js';
import { keel } from '../helpers/cli.js';
import { tempDir } from '../helpers/tracking.js';

describe('keel demo', () => {
  const cwd = tempDir();
  const config = loadConfig({ cwd, env: {} });
  let result: ChurnDemoResult;

  beforeAll(() => {
    const res = keel(['demo', '--json'], { cwd });
    expect(res.code, res.stderr).toBe(0);
    result = JSON.parse(res.stdout);
  }, 120_000);
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it('works in the .keel folder of the folder it runs in, and lists the commands to run next', () => {
    expect(result.home).toBe(join(cwd, '.keel'));
    expect(result.ingest.partition.startsWith(join(cwd, '.keel', 'offline', 'online_retail'))).toBe(true);
    expect(result.next).toEqual(
      expect.arrayContaining([
        'keel runs list --experiment churn',
        'keel models show churn',
        'keel score --model models:/churn/1 --data .keel/demo/test_set.parquet --out scores.parquet --keep customer_id',
        'keel serve --model models:/churn/1 --features-at 2011-12-10T00:00:00Z',
      ]),
    );
  });

  it('ingests every row with the validation figures of the data README', () => {
    expect(result.ingest).toMatchObject({
      rows: 541_909,
      missingCustomerId: { rows: 135_080 },
      duplicates: { rows: 5_268 },
      checks: { failed: 0 },
    });
    expect(result.ingest.missingCustomerId.share).toBeCloseTo(0.249, 3);
  });

  it('labels churn at each cutoff as the data README counts it, split by time', () => {
    const byCutoff = Object.fromEntries(result.trainingSet.cutoffs.map((c) => [c.cutoff, c]));
    expect(byCutoff['2011-09-09']).toMatchObject({ split: 'test', customers: 3_370 });
    expect(byCutoff['2011-09-09'].churnRate).toBeCloseTo(0.431, 3);
    expect(byCutoff['2011-06-01']).toMatchObject({ split: 'train', customers: 2_725 });
    expect(byCutoff['2011-06-01'].churnRate).toBeCloseTo(0.51, 2);
    expect(result.trainingSet.cutoffs.filter((c) => c.split === 'test')).toHaveLength(1);
    expect(result.trainingSet.rows.test).toBe(3_370);
  });

  it('trains a model that ranks churners well above chance, with a fairness table by region', () => {
    expect(result.training.metrics.roc_auc).toBeGreaterThan(0.65);
    expect(result.training.fairness.groups.map((g) => g.group)).toEqual(['UK', 'non-UK']);
    expect(result.training.fairness.groups.reduce((n, g) => n + g.count, 0)).toBe(3_370);
  });

  it('records the run: params, per-iteration losses, datasets with digests, feature views, the model', async () => {
    const tracking = await Tracking.open(config);
    try {
      const run = await tracking.runs.get(result.training.runId);
      const params = Object.fromEntries(run.data.params.map((p) => [p.key, p.value]));
      expect(params).toMatchObject({ model_kind: 'gbdt', target: 'churned', iterations: '150' });
      const losses = await tracking.runs.metricHistory(run.info.run_id, 'train_log_loss');
      expect(losses.items.map((m) => m.step)).toEqual([...Array(result.training.iterations).keys()]);
      const metrics = Object.fromEntries(run.data.metrics.map((m) => [m.key, m.value]));
      expect(metrics.roc_auc).toBe(result.training.metrics.roc_auc);
      expect(metrics['region.disparate_impact_ratio']).toBe(result.training.fairness.disparateImpactRatio);
      expect(run.inputs.dataset_inputs.map((d) => d.dataset.digest)).toEqual(
        expect.arrayContaining([result.ingest.digest, result.trainingSet.digest]),
      );
      expect(run.data.tags).toContainEqual({ key: LINEAGE_TAGS.featureViews, value: 'customer_features@1' });
      const files = (await tracking.listArtifacts(run.info.run_id)).files.map((f) => f.path);
      expect(files).toContain('model.onnx');
    } finally {
      await tracking.close();
    }
  });

  it('registers the model in Staging with lineage, and Production refuses it naming the failed gates', () => {
    const r = result.registry;
    expect(r.lineage).toMatchObject({
      run_id: result.training.runId,
      feature_views: ['customer_features@1'],
    });
    expect(r.production.promoted).toBe(false);
    expect(r.production.stageAfter).toBe('Staging');
    expect(r.production.approvalRequired).toBe(true);
    const failed = r.production.gates.filter((g) => !g.passed).map((g) => g.kind);
    expect(failed).toEqual(expect.arrayContaining(['canary', 'lineage']));
    expect(r.production.failed.length).toBe(failed.length);
    expect(r.production.message).toMatch(/failed gates .*'canary/);
    // The metric and bias gates read what the evaluation logged, not a missing metric.
    for (const g of r.production.gates.filter((x) => x.kind === 'metric' || x.kind === 'bias')) {
      expect(g.evidence.value).toEqual(expect.any(Number));
    }
  });

  it('serves the registered model over HTTP as the demo suggests, its features judged as of the demo day', async () => {
    const predict = async (featuresAt?: number) => {
      const server = await startServer(config, { port: 0, models: ['models:/churn/1'], featuresAt });
      try {
        const res = await fetch(`${server.url}/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'churn', entities: { customer_id: [17850] } }),
        });
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      } finally {
        await server.close();
      }
    };
    const replayed = await predict(Date.parse(SERVE_AT));
    expect(replayed.status).toBe(200);
    const [row] = replayed.body.predictions as Array<{ score: number; missing_features?: object }>;
    expect(row.missing_features).toBeUndefined();
    expect(row.score).toBeCloseTo(result.online.score.online, 6);
    // Judged as of today, the 2011 features are all past their TTL: the default input policy
    // refuses to score a row with nothing in it.
    const today = await predict();
    expect(today.status).toBe(503);
    expect(today.body.message).toMatch(/row 0: every feature is missing .*past their max age/);
  });

  it('serves customer 17850 online with exactly the features it would get offline', () => {
    const o = result.online;
    expect(o.customerId).toBe(17850);
    expect(o.materializedRows).toBeGreaterThan(4_000);
    expect(o.mismatches).toEqual([]);
    expect(o.online).toEqual(o.offline);
    expect(o.online.total_orders).toBeGreaterThan(0);
    expect(o.score.online).toBe(o.score.offline);
    expect(o.score.online).toBeGreaterThan(0);
    expect(o.score.online).toBeLessThan(1);
  });

  it('tells people what each step did, with the figures', () => {
    const text = [
      formatStep({ step: 'ingest', result: result.ingest }),
      formatStep({ step: 'features', result: result.features }),
      formatStep({ step: 'training-set', result: result.trainingSet }),
      formatStep({ step: 'train', result: result.training }),
      formatStep({ step: 'registry', result: result.registry }),
      formatStep({ step: 'online', result: result.online }),
    ].join('\n');
    expect(text).toContain('541,909 rows');
    expect(text).toContain('missing CustomerID: 135,080 rows (24.9%)');
    expect(text).toMatch(/2011-09-09 {2}test {3}3,370 customers {2}churn 43\.1%/);
    expect(text).toMatch(/FAIL {2}canary >= 7 days/);
    expect(text).toContain('Production: refused, version stays in Staging');
    expect(text).toContain('online == offline: no training-serving skew');
  });
});
