/**
 * Online reads through the real server (`buildApp`, as `keel serve` builds it): `POST
 * /get-online-features` for 1 entity x 10 features, 1 x 100 and 100 x 10, on SQLite and on Redis,
 * beside a bare Fastify route returning a constant on the same kind of server in the same run.
 * Then the blocking test: 1-entity requests sent every 5 ms while a 100,000-entity request runs;
 * the worst of their latencies shows whether the big read holds the event loop.
 * Targets (issue 13): p99 within 2 ms of the bare route for 1 x 100; 100 x 10 p99 under 10 ms.
 *
 * Run: npx tsx bench/features/online-read.ts
 */
import http from 'node:http';
import { join } from 'node:path';
import Fastify from 'fastify';
import { loadConfig, shortId } from '../../src/core/index.js';
import {
  encodeValues,
  entityKey,
  FeatureStore,
  type OnlineStore,
  openOnlineStore,
} from '../../src/features/index.js';
import { Registry } from '../../src/registry/index.js';
import { buildApp } from '../../src/server/index.js';
import { REDIS_URL } from '../../test/helpers/services.js';
import { customer, storeIn, tempHome, us, wideView } from './common.js';

const ENTITIES = 100_000;
const FEATURES = 100;
const ITERATIONS = 2000;
const { dir, cleanup } = tempHome();
const view = wideView(join(dir, 'unused.parquet'), FEATURES);
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

async function fill(store: OnlineStore): Promise<void> {
  const names = Object.keys(view.schema);
  const payload = encodeValues(names, Object.fromEntries(names.map((f, i) => [f, i * 0.5])));
  const now = Date.now();
  for (let start = 0; start < ENTITIES; start += 5000) {
    const rows = Array.from({ length: 5000 }, (_, i) => ({
      entityKey: entityKey([customer], { customer_id: start + i }),
      record: { eventTs: now, payload },
    }));
    await store.onlineWrite('wide', rows);
  }
}

function post(port: number, path: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () =>
          res.statusCode === 200 ? resolve(text) : reject(new Error(`${res.statusCode} ${text}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** p50 and p99 in µs of sequential requests, after a warm-up. */
async function latency(send: (i: number) => Promise<unknown>): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < 300; i++) await send(i);
  const samples = new Float64Array(ITERATIONS);
  for (let i = 0; i < ITERATIONS; i++) {
    const t = process.hrtime.bigint();
    await send(i);
    samples[i] = Number(process.hrtime.bigint() - t) / 1000;
  }
  samples.sort();
  return { p50: samples[Math.floor(ITERATIONS * 0.5)], p99: samples[Math.floor(ITERATIONS * 0.99)] };
}

const body = (entities: number, features: number, from: number) =>
  JSON.stringify({
    features: Array.from({ length: features }, (_, i) => `wide:f${i}`),
    entities: { customer_id: Array.from({ length: entities }, (_, i) => (from + i * 997) % ENTITIES) },
  });

async function measure(name: string, online: OnlineStore, bare: number): Promise<void> {
  const home = join(dir, name);
  const config = loadConfig({ cwd: home, env: {} });
  const registry = await Registry.open(config);
  const features = new FeatureStore({ config, onlineStore: online });
  await storeIn(home, [view]).close();
  const app = await buildApp({
    services: { tracking: registry.tracking, registry, features },
    logger: false,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  const baseline = await latency(() => post(bare, '/constant', '{}'));
  console.log(`\n${name}`);
  const row = (label: string, r: { p50: number; p99: number }, note = '') =>
    console.log(`  ${label.padEnd(30)} p50 ${us(r.p50)}  p99 ${us(r.p99)}${note}`);
  row('bare route (baseline)', baseline);
  for (const [e, f, target] of [
    [1, 10, ''],
    [1, 100, 'p99 within 2000 µs of the bare route'],
    [100, 10, 'p99 under 10000 µs'],
  ] as const) {
    const r = await latency((i) => post(port, '/get-online-features', body(e, f, i * 7919)));
    const met = target === '' ? '' : e === 1 ? r.p99 - baseline.p99 <= 2000 : r.p99 < 10_000;
    const verdict = target === '' ? '' : `  target ${target}: ${met ? 'met' : 'MISSED'}`;
    row(`${e} x ${f}`, r, `  (p99 ${((r.p99 - baseline.p99) / 1000).toFixed(2)} ms over bare)${verdict}`);
  }

  // A 100,000-entity read while 1-entity reads keep arriving every 5 ms.
  const big = body(ENTITIES, 10, 0);
  const small: number[] = [];
  let done = false;
  const t0 = performance.now();
  const bigRead = post(port, '/get-online-features', big).then(() => {
    done = true;
  });
  while (!done) {
    const t = performance.now();
    await Promise.all([
      post(port, '/get-online-features', body(1, 10, small.length)),
      new Promise((r) => setTimeout(r, 5)),
    ]);
    small.push(performance.now() - t);
  }
  await bigRead;
  const bigMs = performance.now() - t0;
  small.sort((a, b) => a - b);
  console.log(
    `  100,000 x 10 took ${bigMs.toFixed(0)} ms; meanwhile ${small.length} 1 x 10 reads: median ${small[Math.floor(small.length / 2)].toFixed(1)} ms, worst ${small[small.length - 1].toFixed(1)} ms`,
  );
  await app.close();
  await features.close();
  await registry.close();
}

const bareApp = Fastify();
bareApp.post('/constant', async () => ({ ok: true }));
await bareApp.listen({ port: 0, host: '127.0.0.1' });
const barePort = (bareApp.server.address() as { port: number }).port;

const sqlite = await openOnlineStore({ type: 'sqlite', path: join(dir, 'online.db') });
await fill(sqlite);
console.log(`online reads over HTTP, ${ENTITIES.toLocaleString()} entities x ${FEATURES} features stored`);
await measure('SQLite', sqlite, barePort);
await sqlite.close();

try {
  const redis = await openOnlineStore(
    { type: 'redis', url: REDIS_URL },
    { keyPrefix: `keel-bench:${shortId()}:` },
  );
  await fill(redis);
  await measure('Redis', redis, barePort);
  await redis.deleteView('wide');
  await redis.close();
} catch (err) {
  console.log(`Redis skipped: ${(err as Error).message}`);
}
await bareApp.close();
agent.destroy();
cleanup();
