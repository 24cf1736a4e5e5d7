import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ColumnSpec, datasetDigest, ingest } from '../../src/data/index.js';
import { readOnnxSignature, trainFromConfig } from '../../src/ml/index.js';
import { localTrackingClient } from '../../src/tracking/index.js';
import { tempDir } from '../helpers/temp.js';
import { openTestTracking } from '../helpers/tracking.js';
import { writeSyntheticCsv } from './synthetic.js';

describe('trainFromConfig', () => {
  const dir = tempDir();
  writeSyntheticCsv(dir);

  it('trains on an ingested dataset, splits 80/20 at random by default and evaluates fairness on the test rows', async () => {
    const home = join(dir, 'home');
    await ingest({
      home,
      dataset: 'synth',
      paths: [join(dir, 'data.csv')],
      // The split column is left out: extra columns are dropped at ingest.
      columns: [
        ...['a', 'b', 'c', 'd', 'e'].map((name): ColumnSpec => ({ name, type: 'float64' })),
        { name: 'colour', type: 'string' },
        { name: 'label', type: 'string' },
        { name: 'amount', type: 'float64' },
      ],
    });
    const { tracking, cleanup } = await openTestTracking('sqlite');
    const run = await localTrackingClient(tracking).startRun({ experiment: 'train-config' });
    const r = await trainFromConfig(
      {
        data: { dataset: 'synth', target: 'label', positiveLabel: 'yes', categorical: ['colour'] },
        model: { kind: 'logistic' },
        evaluation: { sensitive: ['colour'] },
        out: join(dir, 'ds.onnx'),
      },
      { run, home },
    );
    await run.end();
    const stored = await tracking.runs.get(run.runId);
    await cleanup();
    expect(r.split).toBe('random 80/20 (seed 0)');
    expect(r.rows).toEqual({ train: 480, test: 120 });
    // The sensitive column stays a feature.
    expect(r.features).toEqual(['a', 'b', 'c', 'd', 'e', 'colour', 'amount']);
    expect(Object.keys(r.fairness)).toEqual(['colour']);
    expect(r.fairness.colour.groups.reduce((n, g) => n + g.count, 0)).toBe(120);
    const metrics = Object.fromEntries(stored.data.metrics.map((m) => [m.key, m.value]));
    expect(metrics['colour.disparate_impact_ratio']).toBe(r.fairness.colour.disparateImpactRatio);
    expect(metrics.disparate_impact).toBe(r.fairness.colour.disparateImpactRatio);
    expect(stored.inputs.dataset_inputs.map((d) => [d.dataset.name, d.dataset.digest])).toEqual([
      ['synth', await datasetDigest(home, 'synth')],
    ]);
    await expect(
      trainFromConfig({ data: { dataset: 'none', target: 'label' }, model: { kind: 'logistic' } }, { home }),
    ).rejects.toThrow("dataset 'none' has no ingested data");
  });

  it('names the valid keys when a config holds an unknown one', async () => {
    await expect(
      trainFromConfig({
        data: { path: 'data.csv', target: 'label' },
        model: { kind: 'gbdt', iteration: 5 },
      } as never),
    ).rejects.toThrow("model: unknown key 'iteration': valid keys are kind, params, categoricalSplits");
  });

  it('trains a GBDT from YAML, writes ONNX with metadata, logs params, per-iteration metrics and the model', async () => {
    const config = join(dir, 'train.yaml');
    writeFileSync(
      config,
      [
        'data: { path: data.csv, target: label, positiveLabel: "yes", features: [a, b, c, d, colour], categorical: [colour] }',
        'split: { column: split }',
        'model: { kind: gbdt, params: { iterations: 15, maxLeaves: 8 } }',
        'out: models/m.onnx',
      ].join('\n'),
    );
    const { tracking, cleanup } = await openTestTracking('sqlite');
    const run = await localTrackingClient(tracking).startRun({ experiment: 'train-config' });
    const events: number[] = [];
    const r = await trainFromConfig(config, { run, progress: (e) => events.push(e.done) });
    await run.end();
    const stored = await tracking.runs.get(run.runId);
    const params = Object.fromEntries(stored.data.params.map((p) => [p.key, p.value]));
    const lossHistory = await tracking.runs.metricHistory(run.runId, 'train_log_loss');
    const artifacts = await tracking.listArtifacts(run.runId);
    await cleanup();
    expect(r.modelPath).toBe(join(dir, 'models', 'm.onnx'));
    expect(r.rows).toEqual({ train: 450, test: 150 });
    expect(r.test.roc_auc).toBeGreaterThan(0.7);
    expect(events).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    const sig = readOnnxSignature(r.modelPath);
    expect(JSON.parse(sig.metadata['keel.feature_names'])).toEqual(['a', 'b', 'c', 'd', 'colour']);
    expect(JSON.parse(sig.metadata['keel.categories'])).toEqual({ colour: ['blue', 'green', 'red'] });
    expect(sig.metadata['keel.positive_label']).toBe('yes');
    expect(params).toMatchObject({ model_kind: 'gbdt', iterations: '15', maxLeaves: '8', target: 'label' });
    expect(lossHistory.items.map((m) => m.step)).toEqual(Array.from({ length: 15 }, (_, i) => i));
    // The evaluation on the test split goes under the names keel evaluate and the gates use.
    expect(stored.data.metrics.find((m) => m.key === 'roc_auc')?.value).toBe(r.test.roc_auc);
    expect(r.split).toBe("by column 'split' (training values: train)");
    expect(stored.inputs.dataset_inputs.map((d) => [d.dataset.name, d.dataset.digest])).toEqual([
      ['data.csv', expect.stringMatching(/^sha256:[0-9a-f]{64}$/)],
    ]);
    expect(artifacts.files.map((f) => f.path)).toEqual(['model']);
  });

  it('trains logistic regression and a regressor with a random split', async () => {
    const lr = await trainFromConfig(
      {
        data: { path: 'data.csv', target: 'label', positiveLabel: 'yes', features: ['a', 'b'] },
        model: { kind: 'logistic' },
      },
      { baseDir: dir, out: 'lr.onnx' },
    );
    expect(lr.rows).toEqual({ train: 480, test: 120 });
    expect(lr.test.roc_auc).toBeGreaterThan(0.7);
    const reg = await trainFromConfig(
      {
        data: { path: 'data.csv', target: 'amount', features: ['a', 'b', 'c'] },
        model: { kind: 'gbdt', params: { objective: 'regression', iterations: 30 } },
      },
      { baseDir: dir, out: 'reg.onnx' },
    );
    expect(reg.task).toBe('regression');
    expect(reg.test.r2).toBeGreaterThan(0.5);
    expect(readOnnxSignature(join(dir, 'reg.onnx')).outputs[0].name).toBe('variable');
  });

  it('refuses a bad config naming the field, and writes no model', async () => {
    const bad = {
      data: { path: 'data.csv', target: 'label' },
      model: { kind: 'gbdt', params: { maxDepht: 3 } },
    };
    await expect(trainFromConfig(bad as never, { baseDir: dir, out: 'bad.onnx' })).rejects.toThrow(
      /model\.params|maxDepht/,
    );
    await expect(
      trainFromConfig(
        { data: { path: 'data.csv', target: 'nope' }, model: { kind: 'logistic' } },
        { baseDir: dir, out: 'bad.onnx' },
      ),
    ).rejects.toThrow(/target column 'nope'/);
    expect(existsSync(join(dir, 'bad.onnx'))).toBe(false);
  });

  it('wants exactly one data source and one feature selection, and a resolver for a training set', async () => {
    const model = { kind: 'logistic' } as const;
    const train = (trainingSet: Record<string, unknown>) =>
      trainFromConfig(
        { data: { trainingSet: { entities: 'labels.csv', ...trainingSet }, target: 'label' }, model },
        { baseDir: dir, out: 'bad.onnx' },
      );
    await expect(train({})).rejects.toThrow(
      'Invalid training config: data.trainingSet: needs one of featureService and features',
    );
    await expect(train({ featureService: 'churn', features: ['stats:a'] })).rejects.toThrow(
      'data.trainingSet: give featureService or features, not both',
    );
    await expect(train({ featureService: 'churn' })).rejects.toMatchObject({
      code: 'INVALID_PARAMETER_VALUE',
      message: 'data.trainingSet needs a feature store to join it: pass resolveTrainingSet (keel train does)',
    });
    await expect(
      trainFromConfig(
        {
          data: {
            path: 'data.csv',
            trainingSet: { entities: 'labels.csv', featureService: 'churn' },
            target: 'label',
          },
          model,
        },
        { baseDir: dir, out: 'bad.onnx' },
      ),
    ).rejects.toThrow('data: give path or trainingSet, not both');
    expect(existsSync(join(dir, 'bad.onnx'))).toBe(false);
  });
});
