/**
 * Registry test fixtures: a training run with metrics, dataset inputs and lineage tags, whose
 * artifacts hold a small ONNX model, as a pipeline would leave it.
 */
import { join } from 'node:path';
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
