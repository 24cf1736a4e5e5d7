/**
 * log-batch throughput over HTTP, the same concurrent load against `keel serve` on SQLite and on
 * PostgreSQL in one run: 4 clients, each logging its own runs (2 runs x 10 batches x 1,000
 * metrics), as parallel training jobs do. The backends take turns for 3 rounds so drift in the
 * machine's load hits both alike; each figure is the median of its rounds. Baseline, in the same
 * run: a bare Fastify route that parses the same JSON body and answers {} (the HTTP + JSON ceiling).
 * Targets: at least 10,000 metrics/s on SQLite (issue 2); PostgreSQL at least 70% of SQLite
 * (issue 16).
 *
 * Run: npx tsx bench/tracking/log-batch.ts [--json]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { LocalArtifactStore } from '../../src/artifacts/index.js';
import { Registry } from '../../src/registry/index.js';
import { buildApp } from '../../src/server/index.js';
import { openDatabase } from '../../src/storage/index.js';
import { Tracking } from '../../src/tracking/index.js';
import { freshPostgresSchema } from '../../test/helpers/tracking.js';

const CLIENTS = 4;
const RUNS_PER_CLIENT = 2;
const BATCHES = 10;
const PER_BATCH = 1000;
const ROUNDS = 3;
const json = process.argv.includes('--json');

async function post(url: string, body: string): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
}

/** Every client logs its runs' batches one after another; the clients run at once. Metrics/s. */
async function drive(base: string, runsByClient: string[][]): Promise<number> {
  const bodies = runsByClient.map((runIds) =>
    runIds.flatMap((runId) =>
      Array.from({ length: BATCHES }, (_, b) =>
        JSON.stringify({
          run_id: runId,
          metrics: Array.from({ length: PER_BATCH }, (_, i) => ({
            key: `m${i % 20}`,
            value: Math.random(),
            timestamp: Date.now(),
            step: b * PER_BATCH + i,
          })),
        }),
      ),
    ),
  );
  const start = performance.now();
  await Promise.all(
    bodies.map(async (mine) => {
      for (const body of mine) await post(`${base}/api/2.0/mlflow/runs/log-batch`, body);
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  return (bodies.flat().length * PER_BATCH) / seconds;
}

interface Target {
  label: string;
  /** Fresh runs for one round, grouped by client. */
  runs: () => Promise<string[][]>;
  base: string;
  close: () => Promise<void>;
}

async function keelTarget(label: string, tracking: Tracking, close: () => Promise<void>): Promise<Target> {
  await tracking.init();
  const registry = new Registry(tracking);
  await registry.init();
  const app = await buildApp({ services: { tracking, registry }, logger: false });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const exp = await tracking.experiments.create(`bench-${Date.now()}`);
  const runs = async () => {
    const out: string[][] = [];
    for (let c = 0; c < CLIENTS; c++) {
      const mine: string[] = [];
      for (let r = 0; r < RUNS_PER_CLIENT; r++)
        mine.push((await tracking.runs.create({ experimentId: exp })).info.run_id);
      out.push(mine);
    }
    return out;
  };
  await drive(base, [(await runs())[0].slice(0, 1)]); // warm up: JIT, statement plans, pages
  return {
    label,
    runs,
    base,
    close: async () => {
      await app.close();
      await close();
    },
  };
}

async function bareTarget(): Promise<Target> {
  const app: FastifyInstance = Fastify();
  app.post('/api/2.0/mlflow/runs/log-batch', async () => ({}));
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const runs = async () =>
    Array.from({ length: CLIENTS }, (_, c) =>
      Array.from({ length: RUNS_PER_CLIENT }, (_, r) => `r${c}-${r}`),
    );
  await drive(base, [['warm']]);
  return { label: 'bare Fastify route (ceiling)', runs, base, close: () => app.close() };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (rate: number) => Math.round(rate).toLocaleString('en-US').padStart(10);

const dir = mkdtempSync(join(tmpdir(), 'keel-bench-'));
const sqliteTracking = new Tracking(
  await openDatabase({ type: 'sqlite', path: join(dir, 'keel.db') }),
  new LocalArtifactStore(join(dir, 'a')),
);
const targets: Target[] = [
  await bareTarget(),
  await keelTarget('keel serve on SQLite', sqliteTracking, () => sqliteTracking.close()),
];
const pgUrl = process.env.KEEL_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
try {
  const fresh = await freshPostgresSchema(pgUrl);
  const pgTracking = new Tracking(
    await openDatabase({ type: 'postgres', url: fresh.url }),
    new LocalArtifactStore(join(dir, 'b')),
  );
  targets.push(
    await keelTarget('keel serve on PostgreSQL', pgTracking, async () => {
      await pgTracking.close();
      await fresh.drop();
    }),
  );
} catch (err) {
  if (!json) console.log(`PostgreSQL skipped: ${(err as Error).message}`);
}

if (!json)
  console.log(
    `log-batch over HTTP: ${CLIENTS} clients x ${RUNS_PER_CLIENT} runs x ${BATCHES} batches x ${PER_BATCH} metrics, ${ROUNDS} rounds taking turns`,
  );
const rates = new Map<string, number[]>(targets.map((t) => [t.label, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const t of targets) rates.get(t.label)!.push(await drive(t.base, await t.runs()));
}
for (const t of targets) await t.close();

const result = Object.fromEntries([...rates].map(([label, xs]) => [label, median(xs)]));
const bare = result['bare Fastify route (ceiling)'];
const sqlite = result['keel serve on SQLite'];
const pg = result['keel serve on PostgreSQL'] as number | undefined;
if (json) {
  console.log(
    JSON.stringify({
      metricsPerSecond: result,
      rounds: Object.fromEntries(rates),
      pgToSqlite: pg && pg / sqlite,
    }),
  );
} else {
  for (const [label, rate] of Object.entries(result))
    console.log(
      `${label.padEnd(28)} ${fmt(rate)} metrics/s  (rounds: ${rates.get(label)!.map(fmt).join(',')})`,
    );
  console.log('');
  console.log(
    `SQLite: ${(sqlite / bare).toFixed(2)}x of the bare-route ceiling; target 10,000 metrics/s: ${sqlite >= 10_000 ? 'met' : 'NOT met'}`,
  );
  if (pg)
    console.log(
      `PostgreSQL: ${(pg / bare).toFixed(2)}x of the ceiling, ${Math.round((100 * pg) / sqlite)}% of SQLite; target 70%: ${pg >= 0.7 * sqlite ? 'met' : 'NOT met'}`,
    );
  console.log('MLflow server reference (issue 2, same machine class): about 2,000 metrics/s');
}
