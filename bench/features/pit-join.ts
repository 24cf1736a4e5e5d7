/**
 * Point-in-time join of 100k entity rows against 1M feature rows (Parquet in, Parquet out),
 * against a baseline in the same run: DuckDB scanning both files (the join's floor).
 * Target: under 2 s.
 *
 * Run: npx tsx bench/features/pit-join.ts
 */
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { storeIn, tempHome, wideView } from './common.js';

const FEATURE_ROWS = 1_000_000;
const ENTITY_ROWS = 100_000;
const CUSTOMERS = 50_000;
const { dir, cleanup } = tempHome();
const features = join(dir, 'features.parquet');
const entities = join(dir, 'entities.parquet');

const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
await conn.run(`COPY (
  SELECT (i % ${CUSTOMERS})::BIGINT AS customer_id,
         TIMESTAMP '2024-01-01' + to_seconds((random() * 365 * 86400)::BIGINT) AS ts,
         random() AS f0, random() AS f1, random() AS f2, random() AS f3
  FROM range(${FEATURE_ROWS}) t(i)) TO '${features}' (FORMAT parquet)`);
await conn.run(`COPY (
  SELECT (random() * ${CUSTOMERS})::BIGINT AS customer_id,
         TIMESTAMP '2024-01-01' + to_seconds((random() * 400 * 86400)::BIGINT) AS event_timestamp,
         (random() < 0.3) AS label
  FROM range(${ENTITY_ROWS})) TO '${entities}' (FORMAT parquet)`);

let t = performance.now();
await conn.runAndReadAll(
  `SELECT (SELECT count(*) FROM read_parquet('${features}')), (SELECT count(*) FROM read_parquet('${entities}'))`,
);
await conn.runAndReadAll(`SELECT sum(f0 + f1 + f2 + f3) FROM read_parquet('${features}')`);
const scanMs = performance.now() - t;
conn.closeSync();

const view = { ...wideView(features, 4, 'stats'), ttl: 90 * 86_400 };
const store = storeIn(dir, [view]);
const refs = ['stats:f0', 'stats:f1', 'stats:f2', 'stats:f3'];
// One untimed run loads DuckDB and warms the file cache, as the baseline's scan did.
await store.getHistoricalFeatures({
  entityRows: { path: entities },
  features: refs,
  out: join(dir, 'warm.parquet'),
});
t = performance.now();
const result = await store.getHistoricalFeatures({
  entityRows: { path: entities },
  features: refs,
  out: join(dir, 'train.parquet'),
});
const joinMs = performance.now() - t;

console.log(
  `point-in-time join: ${ENTITY_ROWS.toLocaleString()} entity rows x ${FEATURE_ROWS.toLocaleString()} feature rows, 4 features, ttl 90 d`,
);
console.log(`baseline: scan both Parquet files      ${scanMs.toFixed(0).padStart(6)} ms`);
console.log(
  `getHistoricalFeatures -> Parquet        ${joinMs.toFixed(0).padStart(6)} ms  (${(joinMs / scanMs).toFixed(1)}x baseline)  ` +
    `rows ${result.rowCount.toLocaleString()}  target < 2000 ms: ${joinMs < 2000 ? 'met' : 'MISSED'}`,
);
await store.close();
cleanup();
