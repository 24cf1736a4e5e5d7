/**
 * @module registry/schema
 * Registry tables (migrations 200+). Children reference a model by name with ON UPDATE CASCADE,
 * so a rename is one UPDATE. The audit log and the webhook delivery log are append-only: nothing
 * in Keel updates or deletes their rows.
 */
import type { Migration } from '../storage/index.js';

export const registryMigrations: Migration[] = [
  {
    version: 200,
    name: 'registry: models, versions, tags, aliases',
    sql: `
CREATE TABLE registered_models (
  name TEXT PRIMARY KEY,
  creation_timestamp {{bigint}} NOT NULL,
  last_updated_timestamp {{bigint}} NOT NULL,
  description TEXT NOT NULL DEFAULT ''
);
CREATE TABLE registered_model_tags (
  name TEXT NOT NULL REFERENCES registered_models(name) ON UPDATE CASCADE ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (name, key)
);
CREATE TABLE model_versions (
  name TEXT NOT NULL REFERENCES registered_models(name) ON UPDATE CASCADE ON DELETE CASCADE,
  version INTEGER NOT NULL,
  creation_timestamp {{bigint}} NOT NULL,
  last_updated_timestamp {{bigint}} NOT NULL,
  user_id TEXT NOT NULL,
  current_stage TEXT NOT NULL DEFAULT 'None',
  stage_since {{bigint}} NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  source TEXT NOT NULL,
  run_id TEXT NOT NULL DEFAULT '',
  run_link TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'READY',
  status_message TEXT NOT NULL DEFAULT '',
  model_path TEXT NOT NULL,
  signature TEXT NOT NULL,
  features TEXT NOT NULL DEFAULT '[]',
  lineage TEXT NOT NULL,
  benchmark TEXT,
  canary TEXT,
  PRIMARY KEY (name, version)
);
CREATE INDEX model_versions_stage ON model_versions (name, current_stage);
CREATE TABLE model_version_tags (
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (name, version, key),
  FOREIGN KEY (name, version) REFERENCES model_versions(name, version) ON UPDATE CASCADE ON DELETE CASCADE
);
CREATE TABLE registered_model_aliases (
  name TEXT NOT NULL,
  alias TEXT NOT NULL,
  version INTEGER NOT NULL,
  PRIMARY KEY (name, alias),
  FOREIGN KEY (name, version) REFERENCES model_versions(name, version) ON UPDATE CASCADE ON DELETE CASCADE
);
`,
  },
  {
    version: 201,
    name: 'registry: promotion requests, audit log, API tokens, webhooks',
    sql: `
CREATE TABLE promotion_requests (
  id {{id}},
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  to_stage TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  requested_at {{bigint}} NOT NULL,
  status TEXT NOT NULL,
  gates TEXT NOT NULL,
  override INTEGER NOT NULL DEFAULT 0,
  archive_existing INTEGER NOT NULL DEFAULT 1,
  reason TEXT NOT NULL DEFAULT '',
  decided_by TEXT,
  decided_at {{bigint}}
);
CREATE INDEX promotion_requests_model ON promotion_requests (name, status);
CREATE TABLE registry_audit (
  id {{id}},
  ts {{bigint}} NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  outcome TEXT NOT NULL,
  name TEXT NOT NULL,
  version INTEGER,
  from_value TEXT,
  to_value TEXT,
  gates TEXT,
  reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX registry_audit_model ON registry_audit (name, ts);
CREATE TABLE api_tokens (
  id {{id}},
  token_hash TEXT NOT NULL UNIQUE,
  user_name TEXT NOT NULL,
  role TEXT NOT NULL,
  created_at {{bigint}} NOT NULL
);
CREATE TABLE webhooks (
  webhook_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  url TEXT NOT NULL,
  events TEXT NOT NULL,
  secret TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL,
  creation_timestamp {{bigint}} NOT NULL,
  last_updated_timestamp {{bigint}} NOT NULL
);
CREATE TABLE webhook_deliveries (
  id {{id}},
  webhook_id TEXT NOT NULL,
  delivery_id TEXT NOT NULL,
  event TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  ts {{bigint}} NOT NULL,
  status_code INTEGER,
  error TEXT,
  success INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, ts);
`,
  },
  {
    // 210, not 202: leaves room for the other registry changes being made at the same time.
    version: 210,
    name: 'registry: the sha256 of every file of a version',
    sql: 'ALTER TABLE model_versions ADD COLUMN files TEXT',
  },
  {
    version: 220,
    name: 'registry: any MLflow model (folder, flavors, servability, logged model); governed aliases',
    // Versions registered before hold one ONNX file at the top of their folder (folder NULL: the
    // model file's), all servable; the reserved tag keel.servable mirrors the column.
    sql: `
ALTER TABLE model_versions ADD COLUMN folder TEXT;
ALTER TABLE model_versions ADD COLUMN flavors TEXT NOT NULL DEFAULT '[]';
ALTER TABLE model_versions ADD COLUMN servable INTEGER NOT NULL DEFAULT 1;
ALTER TABLE model_versions ADD COLUMN not_servable TEXT NOT NULL DEFAULT '';
ALTER TABLE model_versions ADD COLUMN model_id TEXT NOT NULL DEFAULT '';
ALTER TABLE promotion_requests ADD COLUMN alias TEXT;
INSERT INTO model_version_tags (name, version, key, value)
  SELECT v.name, v.version, 'keel.servable', 'true' FROM model_versions v
  WHERE NOT EXISTS (SELECT 1 FROM model_version_tags t WHERE t.name = v.name AND t.version = v.version AND t.key = 'keel.servable');
`,
  },
];
