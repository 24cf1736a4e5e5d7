/**
 * @module serving
 * Online serving of registered models: ONNX Runtime sessions fed from request rows or from the
 * online feature store, the set of models a server process serves, and the micro-batcher that
 * merges concurrent requests to one model into one ONNX Runtime call.
 */
export { type ScoreDatasetOptions, type ScoreDatasetResult, scoreDataset } from './batch.js';
export { type ChunkOptions, type ChunkPlan, planChunks } from './batch-split.js';
export type { RowRange } from './batch-writer.js';
export {
  type BatchingOptions,
  DEFAULT_BATCHING,
  MicroBatcher,
  ModelBatchers,
  type ScoreRows,
} from './batcher.js';
export { formatColumns, type InputColumn, inputColumns } from './columns.js';
export {
  type EncodedRows,
  encodeArrays,
  encodeColumns,
  encodedTensor,
  encodeRecords,
  encodeTable,
  type UnseenCategory,
} from './encode.js';
export {
  DEFAULT_INPUT_POLICY,
  type InputIssue,
  type InputIssueKind,
  type InputPolicies,
  type InputPolicy,
  inputPolicyFor,
  type Screened,
  screenRows,
} from './input-policy.js';
export { ServingModel, type ServingModelInfo, type SessionOptions, sessionOptionsFrom } from './model.js';
export {
  type CanaryInfo,
  type Lease,
  type ModelEntry,
  ModelServer,
  type ModelServerOptions,
  type ServedModelInfo,
  type ShadowInfo,
  type ShadowTraffic,
  type SwapRefusals,
} from './model-server.js';
export { Predictor } from './predictor.js';
export { DEFAULT_OFFLOAD_MIN_ROWS } from './score-pool.js';
export type { RefreshError, SlotRole } from './slot.js';
