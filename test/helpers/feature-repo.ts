/**
 * A tiny real feature repo: customers 1..20 with two feature views over Parquet (activity: orders,
 * spend; profile: tenure) written on days 0, 10 and 20 of 2024, a feature service `churn`, and
 * entity rows with a label five days after each feature day (`labels.csv`).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  defineEntity,
  defineFeatureService,
  defineFeatureView,
  fileSource,
} from '../../src/features/index.js';

export const CUSTOMERS = 20;
/** Feature rows on days 0, 10 and 20; entity rows five days after each, so each sees one row. */
export const FEATURE_DAYS = [0, 10, 20];
export const ENTITY_ROWS = CUSTOMERS * FEATURE_DAYS.length;
export const day = (d: number) => new Date(Date.UTC(2024, 0, 1 + d)).toISOString();
/** The refs of the `churn` service, in the model's feature order. */
export const CHURN_FEATURES = ['profile:tenure', 'activity:orders', 'activity:spend'];

/** The feature values `writeSources` writes for customer `c` on day `d` (the SQL's formulas). */
export const featureValues = (c: number, d: number) => ({
  tenure: d + c,
  orders: (c * 3 + d) % 7,
  spend: ((c * 13 + d * 7) % 50) / 10,
});
/** The label of customer `c` five days after feature day `d`. */
export const churned = (c: number, d: number) => (featureValues(c, d).orders < 3 ? 1 : 0);

/** Writes `activity.parquet`, `profile.parquet` and `labels.csv` in `dir` (benches ask for more customers). */
export async function writeSources(dir: string, customers = CUSTOMERS): Promise<void> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const grid = `range(1, ${customers + 1}) c(id), (VALUES ${FEATURE_DAYS.map((d) => `(${d})`).join(', ')}) d(day)`;
  const ts = `TIMESTAMP '2024-01-01' + to_days(CAST(day AS INTEGER))`;
  await conn.run(
    `COPY (SELECT id AS customer_id, ${ts} AS ts, (id * 3 + day) % 7 AS orders, ((id * 13 + day * 7) % 50) / 10.0 AS spend FROM ${grid})
     TO '${join(dir, 'activity.parquet')}' (FORMAT parquet)`,
  );
  await conn.run(
    `COPY (SELECT id AS customer_id, ${ts} AS ts, CAST(day + id AS DOUBLE) AS tenure FROM ${grid})
     TO '${join(dir, 'profile.parquet')}' (FORMAT parquet)`,
  );
  conn.closeSync();
  db.closeSync();
  // The label and a non-feature column (country) come with the entity rows.
  const rows = FEATURE_DAYS.flatMap((d) =>
    Array.from({ length: customers }, (_, i) => {
      const c = i + 1;
      return `${c},${day(d + 5)},${churned(c, d)},${c % 2 ? 'UK' : 'FR'}`;
    }),
  );
  writeFileSync(join(dir, 'labels.csv'), `customer_id,event_timestamp,churned,country\n${rows.join('\n')}\n`);
}

/** The repo's definitions over the sources in `dir`. */
export function definitions(dir: string) {
  const customer = defineEntity({ name: 'customer', joinKey: 'customer_id' });
  const view = (name: string, schema: Record<string, 'int64' | 'float64'>) =>
    defineFeatureView({
      name,
      entities: [customer],
      schema,
      source: fileSource({ path: join(dir, `${name}.parquet`), timestampField: 'ts' }),
    });
  const activity = view('activity', { orders: 'int64', spend: 'float64' });
  const profile = view('profile', { tenure: 'float64' });
  // The service's order, not the views', is the model's feature order.
  const churn = defineFeatureService({
    name: 'churn',
    features: CHURN_FEATURES,
  });
  return [customer, activity, profile, churn];
}
