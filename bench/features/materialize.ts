/**
 * Materialization throughput: 1M feature rows (200k entities) into the SQLite online store, and
 * into Redis when it answers, as rows written per second. Baseline in the same run: the same
 * number of rows upserted straight into a SQLite table in one transaction.
 *
 * Run: npx tsx bench/features/materialize.ts
 */
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import Database from 'better-sqlite3';
import { shortId } from '../../src/core/index.js';
import { openOnlineStore } from '../../src/features/index.js';
import { REDIS_URL } from '../../test/helpers/services.js';
import { storeIn, tempHome, wideView } from './common.js';

const FEATURE_ROWS = 1_000_000;
const ENTITIES = 200_000;
const { dir, cleanup } = tempHome();
const features = join(dir, 'features.parquet');

const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
await conn.run(`COPY (
  SELECT (i % ${ENTITIES})::BIGINT AS customer_id,
         TIMESTAMP '2024-01-01' + to_seconds((random() * 30 * 86400)::BIGINT) AS ts,
         random() AS f0, random() AS f1, random() AS f2, random() AS f3
  FROM range(${FEATURE_ROWS}) t(i)) TO '${features}' (FORMAT parquet)`);
conn.closeSync();

const view = wideView(features, 4, 'stats');
const range = { start: Date.UTC(2024, 0, 1), end: Date.UTC(2024, 1, 1) };
const rate = (rows: number, ms: number) =>
  `${Math.round(rows / (ms / 1000))
    .toLocaleString()
    .padStart(9)} rows/s`;

// Baseline: bare upserts of the same row count and payload size.
const raw = new Database(join(dir, 'baseline.db'));
raw.pragma('journal_mode = WAL');
raw.exec('CREATE TABLE t (k TEXT PRIMARY KEY, ts INTEGER, v TEXT) WITHOUT ROWID');
const upsert = raw.prepare(
  'INSERT INTO t VALUES (?, ?, ?) ON CONFLICT (k) DO UPDATE SET ts = excluded.ts, v = excluded.v',
);
const payload = JSON.stringify({ f0: 0.1, f1: 0.2, f2: 0.3, f3: 0.4 });
let t = performance.now();
raw.transaction(() => {
  for (let i = 0; i < ENTITIES; i++) upsert.run(`customer_id=${i}`, i, payload);
})();
const baseMs = performance.now() - t;
raw.close();
console.log(
  `materialization: ${FEATURE_ROWS.toLocaleString()} feature rows -> latest of ${ENTITIES.toLocaleString()} entities`,
);
console.log(`baseline: bare SQLite upserts          ${rate(ENTITIES, baseMs)}`);

const sqliteStore = storeIn(dir, [view]);
t = performance.now();
const [sqlite] = await sqliteStore.materialize({ ...range, batchSize: 5000 });
const sqliteMs = performance.now() - t;
console.log(
  `materialize -> SQLite                  ${rate(sqlite.rows, sqliteMs)}  (${(baseMs / sqliteMs).toFixed(2)}x baseline rate, ${sqlite.rows.toLocaleString()} rows in ${(sqliteMs / 1000).toFixed(1)} s)`,
);
await sqliteStore.close();

try {
  const redis = await openOnlineStore(
    { type: 'redis', url: REDIS_URL },
    { keyPrefix: `keel-bench:${shortId()}:` },
  );
  const redisStore = storeIn(join(dir, 'r'), [view], redis);
  t = performance.now();
  const [viaRedis] = await redisStore.materialize({ ...range, batchSize: 5000 });
  const redisMs = performance.now() - t;
  console.log(
    `materialize -> Redis                   ${rate(viaRedis.rows, redisMs)}  (${(baseMs / redisMs).toFixed(2)}x baseline rate)`,
  );
  await redis.deleteView('stats');
  await redis.close();
  await redisStore.close();
} catch (err) {
  console.log(`Redis skipped: ${(err as Error).message}`);
}
cleanup();
