/**
 * Online prediction over HTTP: `POST /predict` with one entity whose 3 features are looked up in
 * the SQLite online store and scored by a Keel-trained GBDT in ONNX Runtime (micro-batcher at its
 * defaults), against bare Fastify routes returning a constant, measured in the same run. The
 * route is measured twice: plain (no metrics, no prediction log) and observed (Prometheus metrics
 * and every prediction logged to Parquet, as `keel serve` runs it), to price the observation. The load
 * comes from a child process (this file with `client`), so server and client each have a core.
 * Latency is timed from when each request was due, so a stall counts against every request
 * queued behind it.
 * Targets (ARCHITECTURE.md): p99 < 5 ms at 1,000 req/s; throughput >= 70% of the bare route.
 *
 * Run: npx tsx bench/serving/predict.ts
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import { loadavg } from 'node:os';
import Fastify from 'fastify';
import { PredictionLog } from '../../src/monitoring/index.js';
import { buildApp } from '../../src/server/index.js';
import { ModelServer } from '../../src/serving/index.js';
import { CUSTOMERS } from '../../test/helpers/feature-repo.js';
import { servedWorld } from '../../test/helpers/serving.js';

const RATE = 1000;
const RATE_SECONDS = 2;
const MAX_SECONDS = 2;
/**
 * Rounds of each measurement, the targets interleaved: the best round of each is kept, since other
 * work on a shared machine only ever slows a round down.
 */
const ROUNDS = 3;
const CONNECTIONS = 32;

interface Target {
  url: string;
  method: 'GET' | 'POST';
  path: string;
  /** Request bodies, used in turn. */
  bodies: string[];
}
type Job = { kind: 'rate'; target: Target } | { kind: 'max'; target: Target; seconds: number };
interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}
interface RateResult {
  /** From when each request was due (includes the client's own lateness). */
  due: Percentiles;
  /** From when each request was written. */
  sent: Percentiles;
  errors: number;
}

function percentiles(samples: Float64Array): Percentiles {
  const sorted = samples.slice().sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[sorted.length - 1] };
}

// ---- the client (child process) ----

function send(agent: http.Agent, t: Target, i: number): Promise<void> {
  const { hostname, port } = new URL(t.url);
  const body = t.method === 'POST' ? t.bodies[i % t.bodies.length] : undefined;
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: hostname,
        port,
        method: t.method,
        path: t.path,
        agent,
        headers: body
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
          : {},
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Open loop: request i is due at start + i / RATE, whatever happened to the ones before. */
function atRate(t: Target): Promise<RateResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const total = RATE * RATE_SECONDS;
  const fromDue = new Float64Array(total);
  const fromSend = new Float64Array(total);
  let errors = 0;
  let sent = 0;
  let settled = 0;
  const start = performance.now();
  return new Promise((resolve) => {
    const finish = () => {
      if (++settled < total) return;
      agent.destroy();
      resolve({ due: percentiles(fromDue), sent: percentiles(fromSend), errors });
    };
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * RATE) / 1000) + 1);
      while (sent < due) {
        const i = sent++;
        const dueAt = start + (i * 1000) / RATE;
        const sentAt = performance.now();
        send(agent, t, i).then(
          () => {
            const now = performance.now();
            fromDue[i] = now - dueAt;
            fromSend[i] = now - sentAt;
            finish();
          },
          () => {
            errors++;
            fromDue[i] = fromSend[i] = Number.POSITIVE_INFINITY;
            finish();
          },
        );
      }
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
}

/** Closed loop: CONNECTIONS callers, each sending its next request when the last one answered. */
async function maxRate(t: Target, seconds: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const end = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async (_, c) => {
      for (let i = c; performance.now() < end; i += CONNECTIONS) {
        await send(agent, t, i);
        done++;
      }
    }),
  );
  agent.destroy();
  return done / seconds;
}

if (process.argv[2] === 'client') {
  process.on('message', async (job: Job) => {
    const result = job.kind === 'rate' ? await atRate(job.target) : await maxRate(job.target, job.seconds);
    process.send?.(result);
  });
} else {
  await main();
}

// ---- the server (this process) ----

async function main(): Promise<void> {
  const load = loadavg().map((l) => l.toFixed(2));
  const world = await servedWorld();
  const serving = await ModelServer.start({
    registry: world.registry,
    features: world.store,
    models: ['models:/churn/1'],
  });
  const services = { tracking: world.tracking, registry: world.registry, features: world.store, serving };
  const app = await buildApp({ services, logger: false, metrics: false });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const predictionLog = new PredictionLog({ home: world.dir });
  const observed = await buildApp({ services: { ...services, predictionLog }, logger: false });
  const observedUrl = await observed.listen({ host: '127.0.0.1', port: 0 });
  const bare = Fastify();
  bare.get('/constant', async () => ({ ok: true }));
  bare.post('/constant', async () => ({ ok: true }));
  const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 });

  const client = fork(process.argv[1], ['client'], { stdio: 'inherit' });
  const run = <T>(job: Job) =>
    new Promise<T>((resolve) => {
      client.once('message', (m) => resolve(m as T));
      client.send(job);
    });

  const bodies = Array.from({ length: CUSTOMERS }, (_, i) =>
    JSON.stringify({ model: 'churn', entities: { customer_id: [i + 1] } }),
  );
  const targets: Array<[string, Target]> = [
    ['bare Fastify GET, constant', { url: bareUrl, method: 'GET', path: '/constant', bodies: [] }],
    ['bare Fastify POST, constant', { url: bareUrl, method: 'POST', path: '/constant', bodies }],
    ['POST /predict, 1 entity, 3 features', { url, method: 'POST', path: '/predict', bodies }],
    [
      'POST /predict with metrics and prediction log',
      { url: observedUrl, method: 'POST', path: '/predict', bodies },
    ],
  ];
  // Warm up the JIT, the online store's statements and ONNX Runtime.
  for (const [, target] of targets) await run({ kind: 'max', target, seconds: 1 });

  console.log(
    `online prediction over HTTP (client in a child process; best of ${ROUNDS} interleaved rounds: ${MAX_SECONDS} s at max throughput with ${CONNECTIONS} connections, ${RATE_SECONDS} s at ${RATE} req/s)`,
  );
  console.log(`load average before the run: ${load.join(' ')} (2 cores, shared)`);
  const ms = (v: number) => `${v.toFixed(2).padStart(5)} ms`;
  const line = (p: Percentiles) => `p50 ${ms(p.p50)}  p95 ${ms(p.p95)}  p99 ${ms(p.p99)}  max ${ms(p.max)}`;
  const max = targets.map(() => 0);
  const cpu = targets.map(() => Number.POSITIVE_INFINITY);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, [, target]] of targets.entries()) {
      const before = process.cpuUsage();
      const perSecond = await run<number>({ kind: 'max', target, seconds: MAX_SECONDS });
      const used = process.cpuUsage(before);
      max[i] = Math.max(max[i], perSecond);
      // Server CPU per answered request: what throughput would be if the client kept up.
      cpu[i] = Math.min(cpu[i], (used.user + used.system) / (perSecond * MAX_SECONDS));
    }
  }
  const rated: Array<RateResult | undefined> = targets.map(() => undefined);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, [, target]] of targets.entries()) {
      const r = await run<RateResult>({ kind: 'rate', target });
      const best = rated[i];
      // A round with errors is the one shown: failures are never hidden behind a better round.
      if (!best || (best.errors === 0 && (r.errors > 0 || r.due.p99 < best.due.p99))) rated[i] = r;
    }
  }
  for (const [i, [label, target]] of targets.entries()) {
    const r = rated[i] as RateResult;
    console.log(
      `${label}: max ${Math.round(max[i]).toLocaleString('en-US')} req/s, server CPU ${cpu[i].toFixed(0)} µs/request${r.errors ? `, ${r.errors} errors` : ''}`,
    );
    console.log(`  at ${RATE} req/s, from due time:  ${line(r.due)}`);
    console.log(`  at ${RATE} req/s, from send time: ${line(r.sent)}`);
    if (target.path === '/predict')
      console.log(
        `  target p99 < 5 ms at ${RATE} req/s: ${r.due.p99 < 5 && r.errors === 0 ? 'met' : 'MISSED'} (from due time)`,
      );
  }
  const [get, post, predict, logged] = max;
  console.log(
    `throughput /predict vs bare POST: ${(predict / post).toFixed(2)}, vs bare GET: ${(predict / get).toFixed(2)} (target >= 0.70)`,
  );
  console.log(
    `server CPU per request, bare POST / predict: ${(cpu[1] / cpu[2]).toFixed(2)}, bare GET / predict: ${(cpu[0] / cpu[2]).toFixed(2)} (the ratio if the client were not the limit)`,
  );
  const [plainRate, loggedRate] = [rated[2], rated[3]] as RateResult[];
  console.log(
    `metrics + prediction log: throughput ${(logged / predict).toFixed(2)} of plain /predict, server CPU ${(cpu[3] / cpu[2]).toFixed(2)}x (${(cpu[3] - cpu[2]).toFixed(1)} µs/request more), p99 at ${RATE} req/s ${plainRate.due.p99.toFixed(2)} -> ${loggedRate.due.p99.toFixed(2)} ms`,
  );
  client.kill();
  await bare.close();
  await observed.close();
  await predictionLog.close();
  console.log(`prediction log: ${JSON.stringify(predictionLog.stats())}`);
  await app.close();
  await serving.close();
  await world.close();
}
