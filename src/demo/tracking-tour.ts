/**
 * @module demo/tracking-tour
 * A walkthrough of tracking on the embedded store: three runs of a small gradient-descent fit
 * (y = 3x + 2 with noise) at different learning rates, each logging params, a loss curve, a
 * dataset input and an artifact; then a search for the best run.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeelConfig, ProgressFn } from '../core/index.js';
import { localTrackingClient, Tracking } from '../tracking/index.js';

export interface TourResult {
  experiment: string;
  runs: Array<{ runId: string; learningRate: number; finalMse: number }>;
  best: { runId: string; learningRate: number; mse: number };
}

function dataset(n: number, seed: number): { x: Float64Array; y: Float64Array } {
  let s = seed;
  const rand = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = rand() * 4 - 2;
    y[i] = 3 * x[i] + 2 + (rand() - 0.5) * 0.5;
  }
  return { x, y };
}

export async function runTrackingTour(
  config: KeelConfig,
  onProgress: ProgressFn = () => {},
): Promise<TourResult> {
  const tracking = await Tracking.open(config);
  const client = localTrackingClient(tracking, config.root);
  const experiment = 'keel-demo';
  const { x, y } = dataset(500, 42);
  const digest = createHash('md5').update(Buffer.from(x.buffer)).update(Buffer.from(y.buffer)).digest('hex');
  const runs: TourResult['runs'] = [];
  try {
    for (const learningRate of [0.01, 0.05, 0.2]) {
      const run = await client.startRun({ experiment, runName: `linear-lr-${learningRate}` });
      await run.logParams({ learning_rate: learningRate, epochs: 100, model: 'linear' });
      await run.logInputs([
        { name: 'synthetic-linear', digest, sourceType: 'code', source: 'demo/tracking-tour.ts' },
      ]);
      let w = 0;
      let b = 0;
      let mse = 0;
      for (let epoch = 0; epoch < 100; epoch++) {
        let gw = 0;
        let gb = 0;
        mse = 0;
        for (let i = 0; i < x.length; i++) {
          const err = w * x[i] + b - y[i];
          gw += err * x[i];
          gb += err;
          mse += err * err;
        }
        mse /= x.length;
        w -= (learningRate * 2 * gw) / x.length;
        b -= (learningRate * 2 * gb) / x.length;
        await run.logMetrics({ mse }, { step: epoch });
        onProgress({
          label: `lr=${learningRate}`,
          done: epoch + 1,
          total: 100,
          unit: 'epochs',
          info: `mse=${mse.toFixed(4)}`,
        });
      }
      await run.logMetrics({ final_mse: mse, w, b });
      const modelFile = join(config.home, `demo-model-${run.runId}.json`);
      writeFileSync(modelFile, JSON.stringify({ w, b }));
      await run.logArtifact(modelFile, 'model');
      await run.end();
      runs.push({ runId: run.runId, learningRate, finalMse: mse });
    }
    const expId = (await tracking.experiments.getByName(experiment)).experiment_id;
    const found = await tracking.runs.search({
      experimentIds: [expId],
      filter: "params.model = 'linear'",
      orderBy: ['metrics.final_mse ASC'],
      maxResults: 1,
    });
    const best = found.items[0];
    return {
      experiment,
      runs,
      best: {
        runId: best.info.run_id,
        learningRate: Number(best.data.params.find((p) => p.key === 'learning_rate')?.value),
        mse: best.data.metrics.find((m) => m.key === 'final_mse')!.value,
      },
    };
  } finally {
    await client.close();
    await tracking.close();
  }
}
