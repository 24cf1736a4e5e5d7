/**
 * @module demo/training-set
 * Step 2b: churn labels for a few cutoff days (the SQL of `examples/churn/labels.sql`, run over
 * the ingested partition), then the point-in-time training set from the feature store. The split
 * is by time: earlier cutoffs train, the last one tests, as a model is used in earnest.
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { KeelError } from '../core/index.js';
import { literal } from '../data/index.js';
import type { FeatureStore } from '../features/index.js';
import { type ColumnRole, columnRolesCopyOption } from '../monitoring/index.js';
import { CHURN_EXAMPLE } from './paths.js';

/** The sensitive-ish attribute the fairness table compares: UK customers against the others. */
export const REGION_COLUMN = 'region';

/**
 * What the non-feature columns are, declared in the Parquet files so `keel drift` leaves keys,
 * times and the split flag out of its verdict and reports the label apart.
 */
export const TRAINING_SET_ROLES: Record<string, ColumnRole> = {
  customer_id: 'id',
  event_timestamp: 'timestamp',
  cutoff: 'timestamp',
  split: 'ignored',
  churned: 'target',
};

export interface CutoffSummary {
  cutoff: string;
  split: 'train' | 'test';
  customers: number;
  churnRate: number;
}

export interface TrainingSet {
  /** Parquet with the entity rows (customer_id, event_timestamp, cutoff, churned, country, split, region) and the features. */
  path: string;
  /** Only the test rows, for evaluation. */
  testPath: string;
  digest: string;
  rows: { train: number; test: number };
  cutoffs: CutoffSummary[];
}

async function run(conn: DuckDBConnection, sql: string, what: string) {
  try {
    return await conn.runAndReadAll(sql);
  } catch (cause) {
    throw new KeelError('INTERNAL_ERROR', `${what} failed: ${(cause as Error).message}`, { cause });
  }
}

/** Writes the churn labels of `cutoffs` (YYYY-MM-DD, the last one the test cutoff) as entity rows. */
async function writeLabels(
  conn: DuckDBConnection,
  partition: string,
  cutoffs: readonly string[],
  out: string,
): Promise<CutoffSummary[]> {
  const test = cutoffs[cutoffs.length - 1];
  await run(
    conn,
    `CREATE OR REPLACE VIEW transactions AS SELECT * FROM read_parquet(${literal(partition)})`,
    'reading the ingested transactions',
  );
  await run(
    conn,
    `CREATE OR REPLACE TABLE cutoffs AS SELECT CAST(c AS DATE) AS cutoff FROM (VALUES ${cutoffs.map((c) => `(${literal(c)})`).join(', ')}) t(c)`,
    'listing the cutoffs',
  );
  const labels = readFileSync(CHURN_EXAMPLE.labels, 'utf8');
  await run(
    conn,
    `CREATE OR REPLACE TABLE labels AS
     SELECT *, CASE WHEN cutoff = DATE ${literal(test)} THEN 'test' ELSE 'train' END AS split,
            CASE WHEN country = 'United Kingdom' THEN 'UK' ELSE 'non-UK' END AS ${REGION_COLUMN}
     FROM (${labels}) ORDER BY cutoff, customer_id`,
    `the churn label SQL (${CHURN_EXAMPLE.labels})`,
  );
  await run(conn, `COPY labels TO ${literal(out)} (FORMAT parquet)`, `writing ${out}`);
  const summary = await run(
    conn,
    `SELECT strftime(cutoff, '%Y-%m-%d') AS cutoff, any_value(split) AS split, count(*) AS customers,
            avg(churned) AS churn_rate
     FROM labels GROUP BY cutoff ORDER BY cutoff`,
    'summarising the labels',
  );
  return summary.getRowObjectsJS().map((r) => ({
    cutoff: String(r.cutoff),
    split: r.split as 'train' | 'test',
    customers: Number(r.customers),
    churnRate: Number(r.churn_rate),
  }));
}

/**
 * Builds the labelled, point-in-time training set of the `churn_model` feature service in `dir`.
 * @throws KeelError as the feature store's `getHistoricalFeatures` does; INTERNAL_ERROR when the
 * label SQL fails.
 */
export async function buildTrainingSet(
  store: FeatureStore,
  partition: string,
  cutoffs: readonly string[],
  dir: string,
): Promise<TrainingSet> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const labels = join(dir, 'labels.parquet');
    const summary = await writeLabels(conn, partition, cutoffs, labels);
    const path = join(dir, 'training_set.parquet');
    await store.getHistoricalFeatures({
      featureService: 'churn_model',
      entityRows: { path: labels },
      out: path,
    });
    const testPath = join(dir, 'test_set.parquet');
    const roles = columnRolesCopyOption(TRAINING_SET_ROLES);
    await run(
      conn,
      `COPY (SELECT * FROM read_parquet(${literal(path)}) WHERE split = 'test') TO ${literal(testPath)} (FORMAT parquet, ${roles})`,
      `writing ${testPath}`,
    );
    // The feature store wrote the training set: rewritten once with the roles declared.
    const declared = `${path}.roles.tmp`;
    await run(
      conn,
      `COPY (SELECT * FROM read_parquet(${literal(path)})) TO ${literal(declared)} (FORMAT parquet, ${roles})`,
      `writing ${path}`,
    );
    renameSync(declared, path);
    const count = (split: string) =>
      summary.filter((s) => s.split === split).reduce((n, s) => n + s.customers, 0);
    return {
      path,
      testPath,
      digest: `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex')}`,
      rows: { train: count('train'), test: count('test') },
      cutoffs: summary,
    };
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}
