/**
 * @module monitoring/schema
 * Monitoring tables (migrations 500+), one text for SQLite and PostgreSQL: reference profiles per
 * model version, monitor runs with their results, the servers' per-minute request figures, and
 * alerts with their notifications (an outbox, so no delivery is lost to a restart), and
 * retrainings (at most one running per model, by a unique index).
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
  {
    version: 502,
    name: 'monitoring: alerts and their notifications',
    sql: `
CREATE TABLE monitoring_alerts (
  id {{id}},
  model TEXT NOT NULL,
  version TEXT NOT NULL,
  rule TEXT NOT NULL,
  subject TEXT NOT NULL,
  status TEXT NOT NULL,
  started_at {{bigint}} NOT NULL,
  resolved_at {{bigint}},
  updated_at {{bigint}} NOT NULL,
  threshold {{double}} NOT NULL,
  evidence TEXT NOT NULL,
  latest TEXT NOT NULL
);
CREATE UNIQUE INDEX monitoring_alerts_firing ON monitoring_alerts (model, version, rule, subject) WHERE status = 'firing';
CREATE INDEX monitoring_alerts_model ON monitoring_alerts (model, started_at);
CREATE TABLE alert_notifications (
  id {{id}},
  alert_id {{bigint}} NOT NULL,
  destination TEXT NOT NULL,
  kind TEXT NOT NULL,
  created_at {{bigint}} NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at {{bigint}} NOT NULL,
  claimed_until {{bigint}},
  delivered_at {{bigint}},
  last_error TEXT
);
CREATE INDEX alert_notifications_pending ON alert_notifications (delivered_at, next_attempt_at);
`,
  },
  {
    version: 503,
    name: 'monitoring: retrainings',
    sql: `
CREATE TABLE retrainings (
  id {{id}},
  model TEXT NOT NULL,
  cause TEXT NOT NULL,
  reason TEXT NOT NULL,
  evidence TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  status TEXT NOT NULL,
  started_at {{bigint}} NOT NULL,
  heartbeat_at {{bigint}} NOT NULL,
  finished_at {{bigint}},
  result TEXT NOT NULL,
  error TEXT
);
CREATE UNIQUE INDEX retrainings_running ON retrainings (model) WHERE status = 'running';
CREATE INDEX retrainings_model ON retrainings (model, started_at);
`,
  },
];
