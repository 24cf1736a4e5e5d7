/**
 * @module tracking/schema
 * Tracking tables. Metrics keep their full history in `metrics` and the current value per key in
 * `latest_metrics`, so showing and searching runs never scans the history. Logged models (MLflow 3)
 * keep their own params and tags; their metrics are run metric points linked to them.
 */
import type { Migration } from '../storage/index.js';

export const trackingMigrations: Migration[] = [
  {
    version: 100,
    name: 'tracking: experiments, runs, params, metrics, tags, inputs',
    sql: `
CREATE TABLE experiments (
  experiment_id {{id}},
  name TEXT NOT NULL UNIQUE,
  artifact_location TEXT NOT NULL,
  lifecycle_stage TEXT NOT NULL DEFAULT 'active',
  creation_time {{bigint}} NOT NULL,
  last_update_time {{bigint}} NOT NULL
);
CREATE TABLE experiment_tags (
  experiment_id {{bigint}} NOT NULL REFERENCES experiments(experiment_id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (experiment_id, key)
);
CREATE TABLE runs (
  run_uuid TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  experiment_id {{bigint}} NOT NULL REFERENCES experiments(experiment_id),
  user_id TEXT NOT NULL,
  status TEXT NOT NULL,
  start_time {{bigint}} NOT NULL,
  end_time {{bigint}},
  lifecycle_stage TEXT NOT NULL DEFAULT 'active',
  artifact_uri TEXT NOT NULL,
  deleted_time {{bigint}}
);
CREATE INDEX runs_experiment ON runs (experiment_id, start_time);
CREATE TABLE params (
  run_uuid TEXT NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (run_uuid, key)
);
CREATE TABLE tags (
  run_uuid TEXT NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (run_uuid, key)
);
CREATE TABLE metrics (
  id {{id}},
  run_uuid TEXT NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value {{double}} NOT NULL,
  is_nan INTEGER NOT NULL DEFAULT 0,
  timestamp {{bigint}} NOT NULL,
  step {{bigint}} NOT NULL DEFAULT 0
);
CREATE INDEX metrics_run_key ON metrics (run_uuid, key, step, timestamp);
CREATE TABLE latest_metrics (
  run_uuid TEXT NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value {{double}} NOT NULL,
  is_nan INTEGER NOT NULL DEFAULT 0,
  timestamp {{bigint}} NOT NULL,
  step {{bigint}} NOT NULL,
  PRIMARY KEY (run_uuid, key)
);
CREATE TABLE datasets (
  dataset_uuid TEXT PRIMARY KEY,
  experiment_id {{bigint}} NOT NULL REFERENCES experiments(experiment_id),
  name TEXT NOT NULL,
  digest TEXT NOT NULL,
  source_type TEXT NOT NULL,
  source TEXT NOT NULL,
  schema TEXT,
  profile TEXT,
  UNIQUE (experiment_id, name, digest)
);
CREATE TABLE run_inputs (
  run_uuid TEXT NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
  dataset_uuid TEXT NOT NULL REFERENCES datasets(dataset_uuid),
  tags TEXT NOT NULL DEFAULT '[]',
  PRIMARY KEY (run_uuid, dataset_uuid)
);
`,
  },
  {
    version: 101,
    name: 'tracking: logged models, their params, tags and metrics, run model inputs and outputs',
    sql: `
CREATE TABLE logged_models (
  model_id TEXT PRIMARY KEY,
  experiment_id {{bigint}} NOT NULL REFERENCES experiments(experiment_id),
  name TEXT NOT NULL,
  artifact_location TEXT NOT NULL,
  creation_timestamp_ms {{bigint}} NOT NULL,
  last_updated_timestamp_ms {{bigint}} NOT NULL,
  status TEXT NOT NULL,
  lifecycle_stage TEXT NOT NULL DEFAULT 'active',
  model_type TEXT,
  source_run_id TEXT,
  status_message TEXT
);
CREATE INDEX logged_models_experiment ON logged_models (experiment_id, creation_timestamp_ms);
CREATE TABLE logged_model_params (
  model_id TEXT NOT NULL REFERENCES logged_models(model_id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (model_id, key)
);
CREATE TABLE logged_model_tags (
  model_id TEXT NOT NULL REFERENCES logged_models(model_id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (model_id, key)
);
CREATE TABLE logged_model_metrics (
  model_id TEXT NOT NULL REFERENCES logged_models(model_id) ON DELETE CASCADE,
  run_uuid TEXT NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value {{double}} NOT NULL,
  is_nan INTEGER NOT NULL DEFAULT 0,
  timestamp {{bigint}} NOT NULL,
  step {{bigint}} NOT NULL,
  dataset_name TEXT,
  dataset_digest TEXT,
  PRIMARY KEY (model_id, key, timestamp, step, run_uuid)
);
CREATE TABLE run_models (
  run_uuid TEXT NOT NULL REFERENCES runs(run_uuid) ON DELETE CASCADE,
  model_id TEXT NOT NULL REFERENCES logged_models(model_id) ON DELETE CASCADE,
  direction TEXT NOT NULL,
  step {{bigint}} NOT NULL DEFAULT 0,
  PRIMARY KEY (run_uuid, model_id, direction)
);
`,
  },
  {
    version: 102,
    name: 'tracking: latest metrics by key, for searches sorted or filtered by a metric',
    // Covering: a sort by one metric reads its 10,000s of values from this index alone, where the
    // primary key (run_uuid, key) would cost one lookup per run or a scan of every run's metrics.
    sql: 'CREATE INDEX latest_metrics_key ON latest_metrics (key, run_uuid, value, is_nan);',
  },
];
