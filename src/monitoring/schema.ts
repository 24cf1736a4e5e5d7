/**
 * @module monitoring/schema
 * Monitoring tables (migrations 500+), one text for SQLite and PostgreSQL: reference profiles per
 * model version, monitor runs with their results, and the servers' per-minute request figures.
 */
import type { Migration } from '../storage/index.js';

export const monitoringMigrations: Migration[] = [
  {
    version: 500,
    name: 'monitoring: reference profiles',
    sql: `
CREATE TABLE monitoring_profiles (
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  created_at {{bigint}} NOT NULL,
  source TEXT NOT NULL,
  profile TEXT NOT NULL,
  PRIMARY KEY (name, version)
);
`,
  },
  {
    version: 501,
    name: 'monitoring: monitor runs, request figures',
    sql: `
CREATE TABLE monitor_runs (
  id {{id}},
  model TEXT NOT NULL,
  window_start {{bigint}} NOT NULL,
  window_end {{bigint}} NOT NULL,
  ran_at {{bigint}} NOT NULL,
  status TEXT NOT NULL,
  row_count {{bigint}} NOT NULL,
  cause TEXT NOT NULL,
  result TEXT NOT NULL
);
CREATE INDEX monitor_runs_model ON monitor_runs (model, window_end);
CREATE TABLE request_figures (
  minute {{bigint}} NOT NULL,
  instance TEXT NOT NULL,
  route TEXT NOT NULL,
  model TEXT NOT NULL,
  version TEXT NOT NULL,
  answered {{bigint}} NOT NULL,
  failed {{bigint}} NOT NULL,
  latency_sum {{double}} NOT NULL,
  buckets TEXT NOT NULL,
  PRIMARY KEY (minute, instance, route, model, version)
);
CREATE INDEX request_figures_model ON request_figures (model, minute);
`,
  },
];
