/**
 * @module cli/commands/demo
 * `keel demo`: what `npm run demo` runs.
 */
import type { Command } from 'commander';
import { action } from '../io.js';

export function registerDemoCommand(program: Command): void {
  action(
    program.command('demo').description('run the walkthrough on the embedded defaults (no server needed)'),
    async (io) => {
      const { runTrackingTour } = await import('../../demo/index.js');
      const result = await runTrackingTour(io.config, io.progress);
      io.emit(result, (r) =>
        [
          `Tracked ${r.runs.length} runs in experiment '${r.experiment}' (store: ${io.config.metadata.type === 'sqlite' ? io.config.metadata.path : 'postgres'}):`,
          ...r.runs.map(
            (run) =>
              `  ${run.runId}  learning_rate=${run.learningRate}  final mse=${run.finalMse.toFixed(5)}`,
          ),
          `Best run by search "metrics.final_mse ASC": ${r.best.runId} (learning_rate=${r.best.learningRate}, mse=${r.best.mse.toFixed(5)})`,
          'Next: keel runs list --experiment keel-demo   |   keel runs show <run-id>   |   keel serve (then MLFLOW_TRACKING_URI=http://127.0.0.1:5000)',
        ].join('\n'),
      );
    },
  );
}
