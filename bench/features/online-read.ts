/**
 * Online read latency for one entity and 4, 20 or 50 features: SQLite in process, Redis, and over
 * HTTP to the Feast route. Baselines in the same run: a prepared SQLite `SELECT 1`, a Redis PING,
 * and a bare Fastify route returning a constant.
 * Targets: p99 < 1 ms embedded, < 2 ms Redis.
 *
 * Run: npx tsx bench/features/online-read.ts
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { shortId } from '../../src/core/index.js';
import { entityKey, type FeatureStore, type OnlineStore, openOnlineStore } from '../../src/features/index.js';
import { feastRoutes } from '../../src/server/routes/feast.js';
import { REDIS_URL } from '../../test/helpers/services.js';
import { customer, latency, storeIn, tempHome, us, wideView } from './common.js';

const ENTITIES = 10_000;
const WIDTHS = [4, 20, 50];
const { dir, cleanup } = tempHome();
const view = wideView(join(dir, 'unused.parquet'), 50);

async function fill(store: OnlineStore): Promise<void> {
  const values = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`f${i}`, i * 0.5]));
  for (let start = 0; start < ENTITIES; start += 1000) {
    const rows = Array.from({ length: 1000 }, (_, i) => ({
      entityKey: entityKey([customer], { customer_id: start + i }),
      record: { eventTs: Date.now(), values },
    }));
    await store.onlineWrite('wide', rows);
  }
}

const refs = (n: number) => Array.from({ length: n }, (_, i) => `wide:f${i}`);
let next = 0;
const read = (fs: FeatureStore, n: number) => () =>
  fs.getOnlineFeatures({ features: refs(n), entities: { customer_id: [next++ % ENTITIES] } });

function line(label: string, r: { p50: number; p99: number }, target?: number, base?: { p50: number }) {
  const verdict =
    target === undefined
      ? ''
      : r.p99 < target
        ? `  target p99 < ${target} µs: met`
        : `  target p99 < ${target} µs: MISSED`;
  const ratio = base ? `  (${(r.p50 / base.p50).toFixed(1)}x baseline p50)` : '';
  console.log(`${label.padEnd(34)} p50 ${us(r.p50)}  p99 ${us(r.p99)}${ratio}${verdict}`);
}

// SQLite, in process.
const sqlite = await openOnlineStore({ type: 'sqlite', path: join(dir, 'online.db') });
await fill(sqlite);
const embedded = storeIn(dir, [view], sqlite);
const raw = new Database(join(dir, 'online.db'));
const one = raw.prepare('SELECT 1');
const selectOne = await latency(async () => one.get());
console.log(`online reads, 1 entity (of ${ENTITIES})`);
line('baseline: SQLite SELECT 1', selectOne);
for (const n of WIDTHS)
  line(`SQLite in process, ${n} features`, await latency(read(embedded, n)), 1000, selectOne);

// Redis, when it answers.
try {
  const prefix = `keel-bench:${shortId()}:`;
  const redisStore = await openOnlineStore({ type: 'redis', url: REDIS_URL }, { keyPrefix: prefix });
  await fill(redisStore);
  const viaRedis = storeIn(join(dir, 'r'), [view], redisStore);
  const ping = new Redis(REDIS_URL);
  const pong = await latency(() => ping.ping());
  line('baseline: Redis PING', pong);
  for (const n of WIDTHS) line(`Redis, ${n} features`, await latency(read(viaRedis, n)), 2000, pong);
  await redisStore.deleteView('wide');
  await redisStore.close();
  ping.disconnect();
} catch (err) {
  console.log(`Redis skipped: ${(err as Error).message}`);
}

// HTTP to the Feast route (SQLite behind it), against a bare route on the same server.
const app = Fastify();
app.get('/constant', async () => ({ ok: true }));
await app.register(feastRoutes, { store: embedded });
await app.listen({ port: 0, host: '127.0.0.1' });
const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
const bare = await latency(() => fetch(`${base}/constant`).then((r) => r.json()), 2000);
line('baseline: HTTP bare Fastify route', bare);
for (const n of WIDTHS) {
  const body = (id: number) => JSON.stringify({ features: refs(n), entities: { customer_id: [id] } });
  const http = await latency(
    () =>
      fetch(`${base}/get-online-features`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: body(next++ % ENTITIES),
      }).then((r) => r.json()),
    2000,
  );
  line(`HTTP /get-online-features, ${n} feat.`, http, undefined, bare);
}
await app.close();
raw.close();
await embedded.close();
await sqlite.close();
cleanup();
