/**
 * @module demo/loop-traffic
 * The loop's traffic, from the ingested Online Retail transactions: every valid invoice is a
 * customer showing up, and the shop asks `/predict` for their churn risk with their features as of
 * the end of the day before (the point-in-time join of the churn feature service; a first-time
 * customer has none). Each request carries the ground truth it will get once its 90 days are over
 * (churned: no valid purchase in the 90 days after the invoice's day, as `labels.sql` counts it),
 * known only when those 90 days end within the data (by 2011-12-09).
 *
 * Also the retraining's training set: churn labels at monthly cutoffs whose 90 days have closed by
 * a given day, as `labels.sql` defines them, for `keel train --config` to join.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeelError } from '../core/index.js';
import { literal, queryRows, withDuckDB } from '../data/index.js';
import type { FeatureStore } from '../features/index.js';
import { CHURN_EXAMPLE } from './paths.js';

/** The last day of the data: a label whose 90 days end later is never known. */
export const DATA_END = '2011-12-09';
const DAY_MS = 86_400_000;

export interface TrafficRow {
  customerId: number;
  /** When the invoice was placed (ms). */
  at: number;
  features: Record<string, number | null>;
  /** The churn label and when it becomes known (ms), or null when it never does in the data. */
  label: { value: number; at: number } | null;
}

const VALID = `SELECT CAST(CustomerID AS BIGINT) AS customer_id, InvoiceNo AS invoice, min(InvoiceDate) AS placed_at
  FROM read_parquet(%PARTITION%)
  WHERE CustomerID IS NOT NULL AND NOT (starts_with(InvoiceNo, 'C') OR starts_with(InvoiceNo, 'A'))
    AND Quantity > 0 AND UnitPrice > 0
  GROUP BY ALL`;

/**
 * Every valid invoice from `from` to `until` (ISO days) with its features and label, oldest
 * first; the point-in-time join's files are written to `dir`.
 */
export async function buildTraffic(
  store: FeatureStore,
  partition: string,
  features: readonly string[],
  from: string,
  until: string,
  dir: string,
): Promise<TrafficRow[]> {
  const invoices = join(dir, 'invoices.parquet');
  await withDuckDB(async (conn) => {
    const valid = VALID.replace('%PARTITION%', literal(partition));
    await conn.run(`CREATE TABLE valid AS ${valid}`);
    await conn.run(
      'CREATE TABLE days AS SELECT DISTINCT customer_id, CAST(placed_at AS DATE) AS day FROM valid',
    );
    await conn.run(`COPY (
      SELECT v.customer_id, v.invoice, v.placed_at, CAST(CAST(v.placed_at AS DATE) AS TIMESTAMP) AS event_timestamp,
        CASE WHEN CAST(v.placed_at AS DATE) + INTERVAL 90 DAY <= DATE ${literal(DATA_END)} THEN
          CAST(NOT EXISTS (SELECT 1 FROM days x WHERE x.customer_id = v.customer_id AND x.day > CAST(v.placed_at AS DATE)
            AND x.day <= CAST(v.placed_at AS DATE) + INTERVAL 90 DAY) AS INTEGER) END AS churned
      FROM valid v WHERE v.placed_at >= TIMESTAMP ${literal(from)} AND v.placed_at < TIMESTAMP ${literal(until)}
      ORDER BY v.placed_at, v.invoice) TO ${literal(invoices)} (FORMAT parquet)`);
  });
  const joined = join(dir, 'traffic.parquet');
  await store.getHistoricalFeatures({
    featureService: 'churn_model',
    entityRows: { path: invoices },
    out: joined,
  });
  const rows = await withDuckDB((conn) =>
    queryRows(
      conn,
      `SELECT customer_id, epoch_ms(placed_at) AS placed_at, churned, ${features.map((f) => `CAST("${f}" AS DOUBLE) AS "${f}"`).join(', ')}
       FROM read_parquet(${literal(joined)}) ORDER BY placed_at, invoice`,
    ),
  );
  return rows.map((r) => {
    const at = r.placed_at as number;
    const day = Math.floor(at / DAY_MS) * DAY_MS;
    return {
      customerId: r.customer_id as number,
      at,
      features: Object.fromEntries(features.map((f) => [f, r[f] as number | null])),
      // Known at the start of the day after its 90 days.
      label: r.churned === null ? null : { value: r.churned as number, at: day + 91 * DAY_MS },
    };
  });
}

/** Writes the traffic's features as a Parquet file: the monitor's reference dataset. */
export async function writeReference(
  rows: readonly TrafficRow[],
  features: readonly string[],
  path: string,
): Promise<void> {
  if (rows.length === 0)
    throw new KeelError('INVALID_PARAMETER_VALUE', 'the reference period has no traffic');
  await withDuckDB(async (conn) => {
    const values = rows
      .map(
        (r) =>
          `(${features.map((f) => (r.features[f] === null ? 'NULL' : String(r.features[f]))).join(', ')})`,
      )
      .join(',\n');
    await conn.run(
      `COPY (SELECT * FROM (VALUES ${values}) t(${features.map((f) => `"${f}"`).join(', ')})) TO ${literal(path)} (FORMAT parquet)`,
    );
  });
}

/**
 * Churn labels at the first day of each month from `first` whose 90 days have closed by `asOf`
 * (ms), written as the entity rows of a training set; nothing is written when none has. Returns the
 * cutoffs used.
 */
export async function writeRetrainLabels(
  partition: string,
  first: string,
  asOf: number,
  out: string,
): Promise<string[]> {
  const cutoffs: string[] = [];
  for (
    let d = new Date(`${first}T00:00:00Z`);
    d.getTime() + 91 * DAY_MS <= asOf;
    d.setUTCMonth(d.getUTCMonth() + 1)
  )
    cutoffs.push(d.toISOString().slice(0, 10));
  if (cutoffs.length === 0) return cutoffs;
  const labels = readFileSync(CHURN_EXAMPLE.labels, 'utf8');
  await withDuckDB(async (conn) => {
    await conn.run(`CREATE VIEW transactions AS SELECT * FROM read_parquet(${literal(partition)})`);
    await conn.run(
      `CREATE TABLE cutoffs AS SELECT CAST(c AS DATE) AS cutoff FROM (VALUES ${cutoffs.map((c) => `(${literal(c)})`).join(', ')}) t(c)`,
    );
    await conn.run(
      `COPY (SELECT customer_id, event_timestamp, churned FROM (${labels})) TO ${literal(out)} (FORMAT parquet)`,
    );
  });
  return cutoffs;
}
