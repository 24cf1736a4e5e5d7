/** The shapes of the REST answers the UI reads (MLflow's and Keel's). */
export interface KeyValue {
  key: string;
  value: string;
}
export interface Metric {
  key: string;
  value: number | string;
  timestamp: number;
  step: number;
}
export interface RunInfo {
  run_id: string;
  run_name?: string;
  experiment_id: string;
  status: string;
  start_time?: number;
  end_time?: number;
  artifact_uri?: string;
  lifecycle_stage?: string;
  user_id?: string;
}
export interface DatasetInput {
  tags?: KeyValue[];
  dataset: {
    name: string;
    digest: string;
    source_type?: string;
    source?: string;
    schema?: string;
    profile?: string;
  };
}
export interface Run {
  info: RunInfo;
  data: { metrics: Metric[]; params: KeyValue[]; tags: KeyValue[] };
  inputs?: { dataset_inputs?: DatasetInput[]; model_inputs?: { model_id: string }[] };
}
export interface Experiment {
  experiment_id: string;
  name: string;
  lifecycle_stage?: string;
}
export interface Whoami {
  user: string;
  role: string;
  auth: boolean;
  permissions: string[];
}
export interface ModelVersion {
  name: string;
  version: string;
  current_stage?: string;
  status?: string;
  source?: string;
  run_id?: string;
  user_id?: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  description?: string;
  aliases?: string[];
  tags?: KeyValue[];
}
export interface RegisteredModel {
  name: string;
  description?: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  latest_versions?: ModelVersion[];
  aliases?: { alias: string; version: string }[];
  tags?: KeyValue[];
}
export interface GateResult {
  gate: string;
  kind: string;
  passed: boolean;
  message: string;
  fix?: string;
  evidence: Record<string, unknown>;
}
export interface PromotionRequest {
  id: number;
  name: string;
  version: string;
  to_stage: string | null;
  alias?: string;
  requested_by: string;
  requested_at: number;
  status: 'pending' | 'approved' | 'rejected';
  override: boolean;
  gates: GateResult[];
  reason: string;
  decided_by?: string;
}
export interface AuditEntry {
  id: number;
  ts: number;
  actor: string;
  action: string;
  outcome: string;
  name: string;
  version?: string;
  from?: string;
  to?: string;
  gates?: GateResult[];
  reason: string;
}

/** `GET /api/2.0/keel/serving/deployments`: how a model is served, and each version's requests. */
/** A model version's requests over a window, as the monitors and the deployments route report them. */
export interface ServiceFigures {
  requests: number;
  failed: number;
  errorRate: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  throughput: number;
}

export interface Deployments {
  model: string;
  served: {
    version: string;
    uri: string;
    follows: boolean;
    canary?: { uri: string; version: string | null; percent: number; sticky: boolean; ready: boolean };
    shadow?: { uri: string; version: string | null; ready: boolean };
  } | null;
  window: { from: number; to: number; minutes: number };
  versions: Array<{ version: string } & ServiceFigures>;
}
