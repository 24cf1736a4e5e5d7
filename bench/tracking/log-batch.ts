/**
 * log-batch throughput over HTTP: 10 runs x 10 batches x 1000 metrics, two clients at a time,
 * against `keel serve` on SQLite and (when it answers) PostgreSQL. Baseline, in the same run: a
 * bare Fastify route that parses the same JSON body and answers {}, i.e. the HTTP + JSON ceiling.
 * Target (issue 2): at least 10,000 metrics/s on SQLite.
 *
 * Run: npx tsx bench/tracking/log-batch.ts
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { LocalArtifactStore } from '../../src/artifacts/index.js';
import { Registry } from '../../src/registry/index.js';
import { buildApp } from '../../src/server/index.js';
import { openDatabase } from '../../src/storage/index.js';
import { Tracking } from '../../src/tracking/index.js';
import { freshPostgresSchema } from '../../test/helpers/tracking.js';

const RUNS = 10;
const BATCHES = 10;
const PER_BATCH = 1000;
const CONCURRENCY = 2;

async function post(url: string, body: unknown): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
}

async function drive(base: string, runIds: string[]): Promise<number> {
  const bodies = runIds.flatMap((runId) =>
    Array.from({ length: BATCHES }, (_, b) => ({
      run_id: runId,
      metrics: Array.from({ length: PER_BATCH }, (_, i) => ({
        key: `m${i % 20}`,
        value: Math.random(),
        timestamp: Date.now(),
        step: b * PER_BATCH + i,
      })),
    })),
  );
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < bodies.length) await post(`${base}/api/2.0/mlflow/runs/log-batch`, bodies[next++]);
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  return (bodies.length * PER_BATCH) / seconds;
}

async function benchKeel(label: string, tracking: Tracking): Promise<number> {
  const registry = new Registry(tracking);
  await registry.init();
  const app = await buildApp({ services: { tracking, registry }, logger: false });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const exp = await tracking.experiments.create(`bench-${Date.now()}`);
  const runIds: string[] = [];
  for (let i = 0; i < RUNS; i++) runIds.push((await tracking.runs.create({ experimentId: exp })).info.run_id);
  await drive(base, runIds.slice(0, 1)); // warm up: JIT, statement cache, pages
  const rate = await drive(base, runIds);
  await app.close();
  console.log(`${label.padEnd(28)} ${Math.round(rate).toLocaleString('en-US').padStart(10)} metrics/s`);
  return rate;
}

async function benchBare(): Promise<number> {
  const app = Fastify();
  app.post('/api/2.0/mlflow/runs/log-batch', async () => ({}));
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  await drive(base, ['warm']);
  const rate = await drive(
    base,
    Array.from({ length: RUNS }, (_, i) => `r${i}`),
  );
  await app.close();
  console.log(
    `${'bare Fastify route (ceiling)'.padEnd(28)} ${Math.round(rate).toLocaleString('en-US').padStart(10)} metrics/s`,
  );
  return rate;
}

console.log(
  `log-batch over HTTP: ${RUNS} runs x ${BATCHES} batches x ${PER_BATCH} metrics, ${CONCURRENCY} clients`,
);
const bare = await benchBare();

const dir = mkdtempSync(join(tmpdir(), 'keel-bench-'));
const sqlite = new Tracking(
  await openDatabase({ type: 'sqlite', path: join(dir, 'keel.db') }),
  new LocalArtifactStore(join(dir, 'a')),
);
await sqlite.init();
const sqliteRate = await benchKeel('keel serve on SQLite', sqlite);
await sqlite.close();

const pgUrl = process.env.KEEL_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
let pgRate: number | undefined;
try {
  const fresh = await freshPostgresSchema(pgUrl);
  const pg = new Tracking(
    await openDatabase({ type: 'postgres', url: fresh.url }),
    new LocalArtifactStore(join(dir, 'b')),
  );
  await pg.init();
  pgRate = await benchKeel('keel serve on PostgreSQL', pg);
  await pg.close();
  await fresh.drop();
} catch (err) {
  console.log(`PostgreSQL skipped: ${(err as Error).message}`);
}

console.log('');
console.log(
  `SQLite: ${(sqliteRate / bare).toFixed(2)}x of the bare-route ceiling; target 10,000 metrics/s: ${sqliteRate >= 10_000 ? 'met' : 'NOT met'}`,
);
if (pgRate) console.log(`PostgreSQL: ${(pgRate / bare).toFixed(2)}x of the bare-route ceiling`);
console.log('MLflow server reference (issue 2, same machine class): about 2,000 metrics/s');
