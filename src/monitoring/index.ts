/**
 * @module monitoring
 * Watching served models: every online prediction logged to Parquet with its inputs, ground-truth
 * labels joined by request id, and readers for the monitoring that builds on them.
 */
export {
  checkRequestId,
  inputColumn,
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
