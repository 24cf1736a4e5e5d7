/**
 * @module monitoring
 * Monitoring: every online prediction logged to Parquet with its inputs, ground-truth labels
 * joined by request id, realised performance per chunk once they arrive, drift statistics matching
 * scipy and Evidently per column and per dataset, and reference profiles of registered versions.
 */
export * from './alert-delivery.js';
export {
  type Alert,
  type AlertChanges,
  type AlertEvidence,
  type AlertStatus,
  AlertStore,
  type NotificationKind,
} from './alerts.js';
export * from './drift.js';
export * from './drift-html.js';
export * from './drift-table.js';
export * from './monitor-checks.js';
export * from './monitor-config.js';
export type * from './monitor-report.js';
export { MonitorRunStore } from './monitor-runs.js';
export * from './monitor-window.js';
export { Monitoring, type MonitoringOptions, type MonitorResult, type RunOptions } from './monitoring.js';
export * from './performance.js';
export {
  checkRequestId,
  inputColumn,
  inputName,
  PREDICTION_COLUMNS,
  REQUEST_ID_PATTERN,
} from './prediction-files.js';
export {
  type FeedbackEntry,
  type FlushResult,
  type LoggedInputs,
  type PredictionEntry,
  PredictionLog,
  type PredictionLogOptions,
  type PredictionLogStats,
  predictionLogConfig,
} from './prediction-log.js';
export {
  type LoggedPrediction,
  type PredictionQuery,
  predictionsSql,
  readPredictions,
  summarizePredictions,
  type VersionSummary,
} from './prediction-reader.js';
export * from './profile.js';
export { ProfileStore } from './profile-store.js';
export * from './psi.js';
export * from './request-figures.js';
export { type RecipeOutcome, runRecipe } from './retrain-recipe.js';
export { reportTrigger, servedVersion, type Trigger } from './retrain-triggers.js';
export { Retrainer } from './retrainer.js';
export * from './retrainings.js';
export { monitoringMigrations } from './schema.js';
export * from './stats/counts.js';
export * from './stats/distance.js';
export * from './stats/frequency.js';
export * from './stats/kolmogorov.js';
export * from './stats/ks.js';
export * from './stats/special.js';
export {
  buildVersionProfile,
  type ProfileVersionOptions,
  profileVersion,
  runMetrics,
  trainingDataOf,
} from './version-profile.js';
