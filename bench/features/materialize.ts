/**
 * Materialization throughput: 1M feature rows (200k entities, 4 float features) into the SQLite
 * online store, and into Redis when it answers, as entity rows written per second. Each beside its
 * raw write floor measured in the same run with the same keys and payloads: SQLite, the same
 * prepared upsert in one transaction; Redis, pipelined HSETs in batches of the same size.
 * Target (issue 13): at least 70% of the floor.
 *
 * Run: npx tsx bench/features/materialize.ts
 */
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { shortId } from '../../src/core/index.js';
import { encodeValues, entityKey, openOnlineStore } from '../../src/features/index.js';
import { REDIS_URL } from '../../test/helpers/services.js';
import { customer, storeIn, tempHome, wideView } from './common.js';

const FEATURE_ROWS = 1_000_000;
const ENTITIES = 200_000;
const BATCH = 5000;
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
const rate = (rows: number, ms: number) => rows / (ms / 1000);
const fmt = (r: number) => `${Math.round(r).toLocaleString().padStart(9)} rows/s`;
const keys = Array.from({ length: ENTITIES }, (_, i) => entityKey([customer], { customer_id: i }));
const payload = encodeValues(['f0', 'f1', 'f2', 'f3'], { f0: 0.123456789, f1: 0.2, f2: 0.3, f3: 0.4 });
console.log(
  `materialization: ${FEATURE_ROWS.toLocaleString()} feature rows -> latest of ${ENTITIES.toLocaleString()} entities`,
);

// SQLite floor: the store's own upsert, prepared, one transaction per batch, nothing else.
const raw = new Database(join(dir, 'floor.db'));
raw.pragma('journal_mode = WAL');
raw.pragma('synchronous = NORMAL');
raw.exec(`CREATE TABLE keel_online (view TEXT NOT NULL, entity_key BLOB NOT NULL, event_ts INTEGER NOT NULL,
  created_ts INTEGER, value TEXT NOT NULL, PRIMARY KEY (view, entity_key)) WITHOUT ROWID`);
const upsert =
  raw.prepare(`INSERT INTO keel_online VALUES (?, ?, ?, ?, ?) ON CONFLICT (view, entity_key) DO UPDATE SET
  event_ts = excluded.event_ts, created_ts = excluded.created_ts, value = excluded.value
  WHERE excluded.event_ts > keel_online.event_ts`);
let t = performance.now();
for (let start = 0; start < ENTITIES; start += BATCH) {
  raw.transaction(() => {
    for (let i = start; i < start + BATCH; i++)
      upsert.run('stats', Buffer.from(keys[i], 'hex'), i, null, payload);
  })();
}
const sqliteFloor = rate(ENTITIES, performance.now() - t);
raw.close();

const sqliteStore = storeIn(dir, [view]);
t = performance.now();
const [sqlite] = await sqliteStore.materialize({ ...range, batchSize: BATCH });
const sqliteRate = rate(sqlite.rows, performance.now() - t);
await sqliteStore.close();
console.log(`SQLite floor: prepared upserts          ${fmt(sqliteFloor)}`);
console.log(
  `materialize -> SQLite                  ${fmt(sqliteRate)}  (${((100 * sqliteRate) / sqliteFloor).toFixed(0)}% of the floor; target >= 70%: ${sqliteRate >= 0.7 * sqliteFloor ? 'met' : 'MISSED'})`,
);

try {
  const prefix = `keel-bench:${shortId()}:`;
  const client = new Redis(REDIS_URL, { keyPrefix: `${prefix}floor:` });
  t = performance.now();
  for (let start = 0; start < ENTITIES; start += BATCH) {
    const pipeline = client.pipeline();
    for (let i = start; i < start + BATCH; i++)
      pipeline.hset(Buffer.from(keys[i], 'hex'), 'stats', `${i}||${payload}`);
    await pipeline.exec();
  }
  const redisFloor = rate(ENTITIES, performance.now() - t);
  for (let start = 0; start < ENTITIES; start += BATCH) {
    const pipeline = client.pipeline();
    for (let i = start; i < start + BATCH; i++) pipeline.del(Buffer.from(keys[i], 'hex'));
    await pipeline.exec();
  }
  client.disconnect();

  const redis = await openOnlineStore({ type: 'redis', url: REDIS_URL }, { keyPrefix: prefix });
  const redisStore = storeIn(join(dir, 'r'), [view], redis);
  t = performance.now();
  const [viaRedis] = await redisStore.materialize({ ...range, batchSize: BATCH });
  const redisRate = rate(viaRedis.rows, performance.now() - t);
  console.log(`Redis floor: pipelined HSETs            ${fmt(redisFloor)}`);
  console.log(
    `materialize -> Redis                   ${fmt(redisRate)}  (${((100 * redisRate) / redisFloor).toFixed(0)}% of the floor; target >= 70%: ${redisRate >= 0.7 * redisFloor ? 'met' : 'MISSED'})`,
  );
  await redis.deleteView('stats');
  await redis.close();
  await redisStore.close();
} catch (err) {
  console.log(`Redis skipped: ${(err as Error).message}`);
}
cleanup();
