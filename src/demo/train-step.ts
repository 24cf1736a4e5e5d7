/**
 * @module demo/train-step
 * Step 3: one tracking run holds the whole training: the datasets it read (with digests), the
 * feature views (as the lineage tag the registry reads), the GBDT's params and per-iteration
 * losses, the ONNX model, and the evaluation on the held-out cutoff with its fairness table.
 */
import { join } from 'node:path';
import type { ProgressFn } from '../core/index.js';
import { type EvaluationResult, evaluateModel, type FairnessReport, trainFromConfig } from '../ml/index.js';
import { LINEAGE_TAGS, type TrackingClient } from '../tracking/index.js';
import type { IngestStep } from './ingest-step.js';
import { REGION_COLUMN, type TrainingSet } from './training-set.js';

/** Small and regularised: about 10k rows of six features. */
export const GBDT_PARAMS = {
  iterations: 150,
  learningRate: 0.05,
  maxLeaves: 15,
  minSamplesLeaf: 40,
  seed: 7,
} as const;

export interface TrainStep {
  experiment: string;
  runId: string;
  /** The model as the run's artifact, the source the registry reads. */
  modelUri: string;
  iterations: number;
  features: string[];
  /** Evaluation on the test cutoff. */
  metrics: Record<string, number | null>;
  fairness: { column: string } & FairnessReport;
  importance: Array<{ feature: string; gain: number }>;
}

export interface TrainInputs {
  client: TrackingClient;
  experiment: string;
  ingested: IngestStep;
  trainingSet: TrainingSet;
  /** `view@version` of every feature view the training set read. */
  featureViews: string[];
  features: string[];
  dir: string;
  onProgress?: ProgressFn;
}

/** Trains and evaluates the churn GBDT inside one tracking run (ended FAILED if anything throws). */
export async function trainChurnModel(inputs: TrainInputs): Promise<TrainStep> {
  const { trainingSet, ingested } = inputs;
  const run = await inputs.client.startRun({ experiment: inputs.experiment, runName: 'churn-gbdt' });
  try {
    await run.setTags({ [LINEAGE_TAGS.featureViews]: inputs.featureViews.join(',') });
    await run.logInputs([
      {
        name: ingested.dataset,
        digest: ingested.digest,
        sourceType: 'local',
        source: ingested.partition,
        tags: { 'mlflow.data.context': 'raw' },
      },
      {
        name: 'churn_training_set',
        digest: trainingSet.digest,
        sourceType: 'local',
        source: trainingSet.path,
        tags: { 'mlflow.data.context': 'training' },
      },
    ]);
    await run.logParams({
      cutoffs: trainingSet.cutoffs.map((c) => `${c.cutoff}:${c.split}`).join(','),
      churn_horizon_days: 90,
    });
    const trained = await trainFromConfig(
      {
        data: { path: trainingSet.path, target: 'churned', features: inputs.features },
        split: { column: 'split', trainValues: ['train'] },
        model: { kind: 'gbdt', params: GBDT_PARAMS },
        out: join(inputs.dir, 'model.onnx'),
      },
      { run, progress: inputs.onProgress },
    );
    const evaluation: EvaluationResult = await evaluateModel({
      model: trained.modelPath,
      data: trainingSet.testPath,
      sensitive: [REGION_COLUMN],
      outDir: join(inputs.dir, 'evaluation'),
      run,
    });
    await run.end('FINISHED');
    return {
      experiment: inputs.experiment,
      runId: run.runId,
      modelUri: `runs:/${run.runId}/model`,
      iterations: trained.iterations,
      features: trained.features,
      metrics: evaluation.metrics,
      fairness: { column: REGION_COLUMN, ...evaluation.fairness[REGION_COLUMN] },
      importance: (trained.importance ?? []).map(({ feature, gain }) => ({ feature, gain })),
    };
  } catch (err) {
    await run.end('FAILED').catch(() => {});
    throw err;
  }
}
