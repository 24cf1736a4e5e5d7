/**
 * @module cli/commands
 * Every command group, registered in the order `keel --help` lists them.
 */
import type { Command } from 'commander';
import { registerDataCommands } from './data.js';
import { registerDemoCommand } from './demo.js';
import { registerDriftCommand } from './drift.js';
import { registerFeaturesCommands } from './features.js';
import { registerMlCommands } from './ml.js';
import { registerModelCommands } from './models.js';
import { registerMonitorCommands } from './monitor.js';
import { registerPipelineCommands } from './pipeline.js';
import { registerPredictionsCommands } from './predictions.js';
import { registerRetrainCommands } from './retrain.js';
import { registerScoreCommand } from './score.js';
import { registerServeCommand } from './serve.js';
import { registerTrackingCommands } from './tracking.js';

const groups: Array<(program: Command) => void> = [
  registerDemoCommand,
  registerDataCommands,
  registerFeaturesCommands,
  registerPipelineCommands,
  registerMlCommands,
  registerServeCommand,
  registerTrackingCommands,
  registerModelCommands,
  registerScoreCommand,
  registerDriftCommand,
  registerPredictionsCommands,
  registerMonitorCommands,
  registerRetrainCommands,
];

export function registerCommands(program: Command): void {
  for (const register of groups) register(program);
}
