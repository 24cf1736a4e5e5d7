/**
 * @module registry/types
 * Registry entities. The MLflow-facing ones mirror MLflow's protos field for field (snake_case,
 * times in ms, `version` as a string) so the REST layer passes them through unchanged.
 */
import type { KeyValue } from '../tracking/index.js';

export const STAGES = ['None', 'Staging', 'Production', 'Archived'] as const;
export type Stage = (typeof STAGES)[number];

export type VersionStatus = 'PENDING_REGISTRATION' | 'FAILED_REGISTRATION' | 'READY';

export interface AliasEntry {
  alias: string;
  version: string;
}

export interface ModelVersion {
  name: string;
  version: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id: string;
  current_stage: Stage;
  description: string;
  source: string;
  run_id: string;
  status: VersionStatus;
  status_message: string;
  tags: KeyValue[];
  run_link: string;
  aliases: string[];
  /** The MLflow 3 logged model (`m-...`) the version was registered from, when it was. */
  model_id?: string;
}

export interface RegisteredModel {
  name: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  description: string;
  latest_versions: ModelVersion[];
  tags: KeyValue[];
  aliases: AliasEntry[];
}

/** One tensor of a model's signature, read from the ONNX file. */
export interface TensorSpec {
  name: string;
  /** ONNX Runtime's type name: `float32`, `int64`, `string`, ... */
  type: string;
  /** Dimensions; a symbolic (batch) dimension is its name, or -1 when it has none. */
  shape: Array<number | string>;
}

export interface Signature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/** Where a version came from: enough to answer "on what data, with which code". */
export interface Lineage {
  run_id?: string;
  datasets: Array<{ name: string; digest: string }>;
  feature_views: string[];
  pipeline_lock_hash?: string;
  code_commit?: string;
  /** True when the run's checkout had uncommitted changes to tracked files. */
  code_dirty?: boolean;
}

/** p50/p99 of one ONNX Runtime call on a sample batch, measured by `benchmark`. */
export interface BenchmarkResult {
  batch_size: number;
  iterations: number;
  p50_ms: number;
  p99_ms: number;
  measured_at: number;
}

/** Canary traffic the version served while in Staging; serving fills it. */
export interface CanaryRecord {
  requests: number;
  errors: number;
  started_at: number;
  updated_at: number;
}

/** A version's Keel package: what MLflow's ModelVersion does not carry. */
export interface ModelPackage {
  name: string;
  version: string;
  /** Store-relative folder holding the version's files (an MLflow model folder). */
  folder: string;
  /** Store-relative path of the ONNX file Keel serves; null when it cannot serve the version. */
  model_path: string | null;
  /** Whether Keel can serve the version: it holds an ONNX model ONNX Runtime loads. */
  servable: boolean;
  /** Why it cannot, when it cannot. */
  not_servable?: string;
  /** The MLmodel's flavors (`onnx`, `python_function`, `sklearn`, ...). */
  flavors: string[];
  signature: Signature;
  /** Feature references (`view:feature`) the model needs from the feature store. */
  features: string[];
  lineage: Lineage;
  benchmark?: BenchmarkResult;
  canary?: CanaryRecord;
  /** The sha256 (hex) of every file of the version's folder, by path; checked on every load. */
  files?: Record<string, string>;
  /** When the version entered its current stage (ms). */
  stage_since: number;
}

export type { KeyValue };
