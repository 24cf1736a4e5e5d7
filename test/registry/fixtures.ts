/**
 * Registry test fixtures: a training run with metrics, dataset inputs and lineage tags, whose
 * artifacts hold a small ONNX model, as a pipeline would leave it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Tracking } from '../../src/tracking/index.js';
import { writeLogisticModel } from '../helpers/onnx.js';
import { tempDir } from '../helpers/tracking.js';

export async function trainedRun(
  tracking: Tracking,
  metrics: Record<string, number> = { auc: 0.91, disparate_impact: 0.92 },
  weights = [0.5, -0.25, 1],
): Promise<string> {
  const run = await tracking.runs.create({
    experimentId: '0',
    tags: [
      { key: 'mlflow.source.git.commit', value: 'abc123' },
      { key: 'keel.pipeline.lock_sha256', value: 'lock-9f' },
      { key: 'keel.features.views', value: 'customer_stats@2' },
    ],
  });
  const runId = run.info.run_id;
  await tracking.runs.logBatch(runId, {
    metrics: Object.entries(metrics).map(([key, value]) => ({ key, value, timestamp: 1, step: 0 })),
  });
  await tracking.runs.logInputs(runId, [
    { tags: [], dataset: { name: 'train', digest: 'd1g3st', source_type: 'local', source: 'train.parquet' } },
  ]);
  const dir = tempDir();
  writeLogisticModel(dir, weights);
  await tracking.logArtifact(runId, join(dir, 'model.onnx'), 'model');
  return runId;
}

/**
 * An MLflow model folder of a flavor Keel does not serve, laid out as MLflow 3's
 * `mlflow.sklearn.log_model` / `mlflow.pytorch.log_model` write them (mlflow/sklearn and
 * mlflow/pytorch `save_model`, pyfunc `add_to_model`): MLmodel, the environment files, and the
 * model's data (`model.pkl`, or `data/model.pth` with its pickle module note). The data are
 * placeholder bytes: Keel stores and hands them back, it never reads them.
 * @returns the folder's file names, relative.
 */
export function writeMlflowFolder(dir: string, flavor: 'sklearn' | 'pytorch', modelId?: string): string[] {
  const env = '    env:\n      conda: conda.yaml\n      virtualenv: python_env.yaml\n';
  const mlmodel =
    flavor === 'sklearn'
      ? [
          'flavors:',
          '  python_function:',
          env.trimEnd(),
          '    loader_module: mlflow.sklearn',
          '    model_path: model.pkl',
          '    predict_fn: predict',
          '    python_version: 3.11.9',
          '  sklearn:',
          '    code: null',
          '    pickled_model: model.pkl',
          '    serialization_format: cloudpickle',
          '    sklearn_version: 1.5.2',
        ]
      : [
          'flavors:',
          '  python_function:',
          '    data: data',
          env.trimEnd(),
          '    loader_module: mlflow.pytorch',
          '    pickle_module_name: mlflow.pytorch.pickle_module',
          '    python_version: 3.11.9',
          '  pytorch:',
          '    code: null',
          '    model_data: data',
          '    pytorch_version: 2.4.1',
        ];
  const files: Record<string, string | Buffer> = {
    MLmodel: [
      ...mlmodel,
      'mlflow_version: 3.1.0',
      ...(modelId ? [`model_id: ${modelId}`] : []),
      `model_uuid: ${modelId ?? '0f5c3a1e2b4d4c8e9a7b6c5d4e3f2a1b'}`,
      "utc_time_created: '2025-06-11 09:12:44.309000'",
      '',
    ].join('\n'),
    'conda.yaml':
      'channels:\n- conda-forge\ndependencies:\n- python=3.11.9\n- pip<=24.2\n- pip:\n  - mlflow==3.1.0\n  - scikit-learn==1.5.2\nname: mlflow-env\n',
    'python_env.yaml':
      'python: 3.11.9\nbuild_dependencies:\n- pip==24.2\n- setuptools==75.1.0\n- wheel==0.44.0\ndependencies:\n- -r requirements.txt\n',
    'requirements.txt': 'mlflow==3.1.0\nscikit-learn==1.5.2',
    ...(flavor === 'sklearn'
      ? { 'model.pkl': Buffer.from([0x80, 0x04, 0x95, 0x10, 0x00, 0x2e]) }
      : {
          'data/model.pth': Buffer.from('PK\u0003\u0004 placeholder weights'),
          'data/pickle_module_info.txt': 'mlflow.pytorch.pickle_module',
        }),
  };
  for (const [name, data] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), data);
  }
  return Object.keys(files).sort();
}
