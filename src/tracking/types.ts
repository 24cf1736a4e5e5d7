/**
 * @module tracking/types
 * Tracking entities. They mirror MLflow's protos field for field (snake_case, times in ms), so the
 * REST layer passes them through unchanged and the MLflow clients read them as they expect.
 */
import type { RunStatus } from './client.js';

export type LifecycleStage = 'active' | 'deleted';
export type ViewType = 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';

export interface KeyValue {
  key: string;
  value: string;
}

export interface Experiment {
  experiment_id: string;
  name: string;
  artifact_location: string;
  lifecycle_stage: LifecycleStage;
  last_update_time: number;
  creation_time: number;
  tags: KeyValue[];
}

export interface Metric {
  key: string;
  value: number;
  /** ms since the epoch */
  timestamp: number;
  step: number;
}

export interface RunInfo {
  run_id: string;
  /** Deprecated twin of run_id, kept because older clients read it. */
  run_uuid: string;
  run_name: string;
  experiment_id: string;
  user_id: string;
  status: RunStatus;
  start_time: number;
  end_time?: number;
  artifact_uri: string;
  lifecycle_stage: LifecycleStage;
}

export interface Dataset {
  name: string;
  digest: string;
  source_type: string;
  source: string;
  schema?: string;
  profile?: string;
}

export interface DatasetInputEntity {
  tags: KeyValue[];
  dataset: Dataset;
}

/** A logged model a run read (`model_inputs`) or produced (`model_outputs`, at a step). */
export interface ModelInput {
  model_id: string;
}

export interface ModelOutput {
  model_id: string;
  step: number;
}

export interface Run {
  info: RunInfo;
  data: { metrics: Metric[]; params: KeyValue[]; tags: KeyValue[] };
  inputs: { dataset_inputs: DatasetInputEntity[]; model_inputs: ModelInput[] };
  outputs: { model_outputs: ModelOutput[] };
}

export interface Page<T> {
  items: T[];
  /** Absent on the last page. */
  next_page_token?: string;
}

/**
 * A metric point as logged. MLflow 3 clients link a point to a logged model (`model_id`) and to
 * the dataset it was measured on; the point then also counts among the model's metrics.
 */
export interface LoggedMetric extends Metric {
  model_id?: string;
  dataset_name?: string;
  dataset_digest?: string;
}

export interface LogBatch {
  metrics?: LoggedMetric[];
  params?: KeyValue[];
  tags?: KeyValue[];
}

/** LoggedModelStatus of MLflow's proto, by name. */
export type LoggedModelStatus = 'LOGGED_MODEL_PENDING' | 'LOGGED_MODEL_READY' | 'LOGGED_MODEL_UPLOAD_FAILED';

/** A metric point linked to a logged model, with the run that logged it. */
export interface LoggedModelMetric extends Metric {
  model_id: string;
  run_id: string;
  dataset_name?: string;
  dataset_digest?: string;
}

/** MLflow 3's LoggedModel: a model and its files under the experiment, apart from any run. */
export interface LoggedModel {
  info: {
    /** `m-` and 32 hex digits, as MLflow's SQL store makes them. */
    model_id: string;
    experiment_id: string;
    name: string;
    creation_timestamp_ms: number;
    last_updated_timestamp_ms: number;
    /** `<experiment artifact location>/models/<model_id>/artifacts`: where the client uploads. */
    artifact_uri: string;
    status: LoggedModelStatus;
    model_type?: string;
    source_run_id?: string;
    status_message?: string;
    tags: KeyValue[];
  };
  data: { params: KeyValue[]; metrics: LoggedModelMetric[] };
}
