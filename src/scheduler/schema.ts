/**
 * @module scheduler/schema
 * The scheduler's tables (migrations 600+): the lease that names the one process running the
 * schedules, and every due run of every job, keyed by (job, due time) so no due run is run twice.
 */
import type { Migration } from '../storage/index.js';

export const schedulerMigrations: Migration[] = [
  {
    version: 600,
    name: 'scheduler: lease and due runs',
    sql: `
CREATE TABLE scheduler_leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  acquired_at {{bigint}} NOT NULL,
  renewed_at {{bigint}} NOT NULL,
  expires_at {{bigint}} NOT NULL
);
CREATE TABLE scheduler_runs (
  job TEXT NOT NULL,
  due_at {{bigint}} NOT NULL,
  status TEXT NOT NULL,
  holder TEXT NOT NULL,
  started_at {{bigint}} NOT NULL,
  finished_at {{bigint}},
  outcome TEXT,
  PRIMARY KEY (job, due_at)
);
`,
  },
];
