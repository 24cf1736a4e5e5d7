/**
 * `keel train` on a feature-store training set: entity rows with labels are joined point in time
 * with a real feature repo (two views over Parquet written here), through the resolver the CLI
 * uses, in process and as a child process.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainingSetsFrom } from '../../../src/cli/commands/ml.js';
import { loadConfig } from '../../../src/core/index.js';
import type { FeatureStore } from '../../../src/features/index.js';
import { type ResolveTrainingSet, readOnnxSignature, trainFromConfig } from '../../../src/ml/index.js';
import { LINEAGE_TAGS, localTrackingClient, Tracking } from '../../../src/tracking/index.js';
import { storeWith, tempHome } from '../../features/helpers.js';
import { keel } from '../../helpers/cli.js';
import { definitions, ENTITY_ROWS, writeSources } from '../../helpers/feature-repo.js';
import { openTestTracking } from '../../helpers/tracking.js';

const trainingSet = (extra: Record<string, unknown> = {}) => ({
  data: { trainingSet: { entities: 'labels.csv', featureService: 'churn', ...extra }, target: 'churned' },
  model: { kind: 'logistic' as const },
});

describe('keel train on a feature-store training set', () => {
  const { dir, cleanup } = tempHome();
  let store: FeatureStore;
  /** The CLI's resolver, remembering where it wrote each joined set. */
  const written: string[] = [];
  let resolveTrainingSet: ResolveTrainingSet;

  beforeAll(async () => {
    await writeSources(dir);
    store = storeWith(dir, definitions(dir));
    const resolver = trainingSetsFrom(store);
    resolveTrainingSet = (spec, out) => {
      written.push(out);
      return resolver(spec, out);
    };
  });
  afterAll(async () => {
    await store.close();
    cleanup();
  });

  it('trains on the joined feature columns only, and records the lineage in the run', async () => {
    const { tracking, cleanup: closeTracking } = await openTestTracking('sqlite');
    const run = await localTrackingClient(tracking).startRun({ experiment: 'fs-train' });
    const r = await trainFromConfig(trainingSet(), {
      baseDir: dir,
      out: 'churn.onnx',
      run,
      resolveTrainingSet,
    });
    await run.end();
    const stored = await tracking.runs.get(run.runId);
    await closeTracking();

    expect(r.features).toEqual(['tenure', 'orders', 'spend']);
    expect(JSON.parse(readOnnxSignature(r.modelPath).metadata['keel.feature_names'])).toEqual(r.features);
    expect(r.rows.train + r.rows.test).toBe(ENTITY_ROWS);
    // The label is a function of the point-in-time value of orders: a leak-free join learns it.
    expect(r.test.roc_auc).toBeGreaterThan(0.9);
    expect(r.featureViews).toEqual(['profile@1', 'activity@1']);
    expect(written).toHaveLength(1);
    expect(existsSync(dirname(written[0]))).toBe(false);

    const tags = Object.fromEntries(stored.data.tags.map((t) => [t.key, t.value]));
    expect(tags[LINEAGE_TAGS.featureViews]).toBe('profile@1,activity@1');
    const params = Object.fromEntries(stored.data.params.map((p) => [p.key, p.value]));
    expect(params).toMatchObject({ training_set: 'churn', entities: 'labels.csv', target: 'churned' });
    expect(params.data_path).toBeUndefined();
    expect(stored.inputs.dataset_inputs).toHaveLength(1);
    expect(stored.inputs.dataset_inputs[0].dataset).toMatchObject({
      name: 'labels.csv',
      source: join(dir, 'labels.csv'),
      digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
    });
  });

  it('takes feature refs with full names, and data.features still picks columns explicitly', async () => {
    const refs = await trainFromConfig(
      trainingSet({ featureService: undefined, features: ['activity:spend'], fullFeatureNames: true }),
      { baseDir: dir, out: 'refs.onnx', resolveTrainingSet },
    );
    expect(refs.features).toEqual(['activity__spend']);
    expect(refs.featureViews).toEqual(['activity@1']);
    const cfg = trainingSet();
    const picked = await trainFromConfig(
      { ...cfg, data: { ...cfg.data, features: ['orders', 'customer_id'] } },
      { baseDir: dir, out: 'picked.onnx', resolveTrainingSet },
    );
    expect(picked.features).toEqual(['orders', 'customer_id']);
  });

  it('names an unknown feature service, a missing label and removes the joined set', async () => {
    written.length = 0;
    await expect(
      trainFromConfig(trainingSet({ featureService: 'nope' }), { baseDir: dir, resolveTrainingSet }),
    ).rejects.toMatchObject({
      code: 'RESOURCE_DOES_NOT_EXIST',
      message: "feature service 'nope' is not registered",
    });
    const cfg = trainingSet();
    await expect(
      trainFromConfig(
        { ...cfg, data: { ...cfg.data, target: 'label' } },
        { baseDir: dir, resolveTrainingSet },
      ),
    ).rejects.toMatchObject({
      code: 'INVALID_PARAMETER_VALUE',
      message: expect.stringContaining(
        `target column 'label' is not in 'training set of ${join(dir, 'labels.csv')}'`,
      ),
    });
    expect(written).toHaveLength(2);
    for (const out of written) expect(existsSync(dirname(out))).toBe(false);
  });

  // Child processes load DuckDB and ONNX Runtime: slow on a busy machine.
  it('runs end to end from train.yaml, and exits with the error code of a bad config', {
    timeout: 120_000,
  }, async () => {
    writeFileSync(
      join(dir, 'train.yaml'),
      'data:\n  trainingSet: { entities: labels.csv, featureService: churn }\n  target: churned\nmodel: { kind: logistic }\n',
    );
    const train = await keel(['train', '--config', 'train.yaml', '--json'], { cwd: dir });
    expect(train.code, train.stderr).toBe(0);
    const trained = JSON.parse(train.stdout);
    expect(trained).toMatchObject({
      features: ['tenure', 'orders', 'spend'],
      featureViews: ['profile@1', 'activity@1'],
    });
    const tracking = await Tracking.open(loadConfig({ cwd: dir, env: {} }));
    const run = await tracking.runs.get(trained.runId);
    await tracking.close();
    expect(run.data.tags).toContainEqual({ key: LINEAGE_TAGS.featureViews, value: 'profile@1,activity@1' });

    const refused = async (yaml: string) => {
      writeFileSync(join(dir, 'bad.yaml'), `${yaml}\nmodel: { kind: logistic }\n`);
      const res = await keel(['train', '--config', 'bad.yaml', '--json'], { cwd: dir });
      return { code: res.code, ...JSON.parse(res.stdout) };
    };
    expect(
      await refused(
        'data: { path: labels.csv, trainingSet: { entities: labels.csv, featureService: churn }, target: churned }',
      ),
    ).toMatchObject({
      code: 2,
      error_code: 'INVALID_PARAMETER_VALUE',
      message: expect.stringContaining('data: give path or trainingSet, not both'),
    });
    expect(await refused('data: { target: churned }')).toMatchObject({
      code: 2,
      message: expect.stringContaining('data: needs one of path, dataset and trainingSet'),
    });
    expect(
      await refused('data: { trainingSet: { entities: labels.csv, featureService: nope }, target: churned }'),
    ).toMatchObject({
      code: 4,
      error_code: 'RESOURCE_DOES_NOT_EXIST',
      message: "feature service 'nope' is not registered",
    });
  });
});
