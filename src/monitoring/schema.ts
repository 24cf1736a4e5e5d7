/**
 * @module monitoring/schema
 * Monitoring tables (migrations 500+), one text for SQLite and PostgreSQL: reference profiles per
 * model version.
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
];
