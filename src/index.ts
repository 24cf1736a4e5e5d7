/**
 * @module keel
 * The library API: the same one the CLI and the server call, so a Node service can embed Keel.
 */

// Artifacts
export {
  type ArtifactStore,
  LocalArtifactStore,
  normalizeArtifactPath,
  openArtifactStore,
  S3ArtifactStore,
} from './artifacts/index.js';
// Errors, configuration, logging, progress
export {
  type Clock,
  createLogger,
  ERROR_CODES,
  type ErrorCode,
  type KeelConfig,
  KeelError,
  loadConfig,
  ManualClock,
  type ProgressEvent,
  type ProgressFn,
  setProcessTime,
  systemClock,
} from './core/index.js';
// Data ingestion and validation
export { formatReport, ingest, validate } from './data/index.js';
// Feature store
export {
  defineEntity,
  defineFeatureService,
  defineFeatureView,
  defineOnDemandFeatureView,
  FeatureStore,
  fileSource,
  sqlSource,
} from './features/index.js';
// Training, evaluation, fairness, ONNX
export {
  evaluateModel,
  exportOnnx,
  predictGbdt,
  predictLogistic,
  type ResolveTrainingSet,
  readOnnxSignature,
  scoreOnnx,
  type TrainingSetSpec,
  trainFromConfig,
  trainGbdt,
  trainLogistic,
} from './ml/index.js';
// Reproducible pipelines
export { pipelineStatus, repro, Workspace } from './pipeline/index.js';
// Model registry
export {
  type Actor,
  type AuditEntry,
  type GateResult,
  type ModelPackage,
  type ModelVersion,
  type Policy,
  type PromotionResult,
  parseModelUri,
  parsePolicy,
  type RegisteredModel,
  Registry,
  type ResolvedModel,
  type Role,
  readSignature,
  type Signature,
} from './registry/index.js';
// HTTP server
export { buildApp, startServer } from './server/index.js';
// Serving
export {
  type Lease,
  type ModelEntry,
  ModelServer,
  type ModelServerOptions,
  Predictor,
  ServingModel,
  type ServingModelInfo,
  scoreDataset,
} from './serving/index.js';
// Metadata storage
export { type Migration, migrate, openDatabase, type SqlDatabase } from './storage/index.js';
// Experiment tracking
export {
  type ActiveRun,
  type Experiment,
  httpTrackingClient,
  localTrackingClient,
  type Metric,
  openTrackingClient,
  parseFilter,
  type RetryOptions,
  type Run,
  Tracking,
  type TrackingClient,
} from './tracking/index.js';
