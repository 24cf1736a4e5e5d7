/**
 * `keel serve --workers 2` as a child process under load from this test: both workers answer on
 * the one port and `/metrics` counts the requests of both; a promotion reaches every worker
 * (every connection, spread over both, ends up on the new version, with every answer a 200);
 * SIGTERM to the primary drains the cluster: `/ready` turns 503 while requests still get
 * answers, the load stops as a load balancer would, every request sent is answered 200, the
 * process exits 0, and the prediction log holds exactly one row per answered request.
 */
import http from 'node:http';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/core/index.js';
import { Registry } from '../../../src/registry/index.js';
import { tempHome } from '../../features/helpers.js';
import { startKeel } from '../../helpers/cli.js';
import { writeLogisticModel } from '../../helpers/onnx.js';
import { waitFor } from '../../helpers/wait.js';

const ENV = { KEEL_TRACKING_URI: '', MLFLOW_TRACKING_URI: '' };
const CONNECTIONS = 8;

interface Answer {
  status: number;
  version?: string;
}

/** One OIP infer request on `agent`: its status and the version that answered. */
function infer(url: string, agent: http.Agent): Promise<Answer> {
  const body = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] });
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: hostname,
        port,
        method: 'POST',
        path: '/v2/models/logit/infer',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          resolve(status === 200 ? { status, version: JSON.parse(text).model_version } : { status });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Closed-loop callers, each on its own keep-alive connection, until `stop()`. */
function load(url: string) {
  const answers: Answer[] = [];
  const errors: string[] = [];
  let stopped = false;
  const agents = Array.from(
    { length: CONNECTIONS },
    () => new http.Agent({ keepAlive: true, maxSockets: 1 }),
  );
  const done = Promise.all(
    agents.map(async (agent) => {
      while (!stopped) {
        try {
          answers.push(await infer(url, agent));
        } catch (err) {
          errors.push((err as Error).message);
          return;
        }
      }
    }),
  );
  return {
    answers,
    errors,
    stop: async () => {
      stopped = true;
      await done;
      for (const a of agents) a.destroy();
    },
  };
}

async function countLoggedRows(home: string): Promise<number> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const glob = join(home, 'predictions', 'logit', '**', '*.parquet');
    const reader = await conn.runAndReadAll(`SELECT count(*)::INTEGER FROM read_parquet('${glob}')`);
    return reader.getRows()[0][0] as number;
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

const metricSum = (text: string, pattern: RegExp): number =>
  text
    .split('\n')
    .filter((line) => pattern.test(line))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);

describe('keel serve --workers 2', () => {
  const { dir, cleanup } = tempHome();
  let registry: Registry;
  beforeAll(async () => {
    registry = await Registry.open(loadConfig({ cwd: dir, env: {} }));
    await registry.models.create('logit');
    await registry.versions.create({ name: 'logit', source: writeLogisticModel(dir, [1, 0, 0]) });
    await registry.versions.create({ name: 'logit', source: writeLogisticModel(dir, [0, 1, 0], 'v2.onnx') });
    await registry.promotions.setAlias('logit', '1', 'live');
  });
  afterAll(async () => {
    await registry.close();
    cleanup();
  });

  it('shares one port, sums metrics, swaps in every worker and drains on SIGTERM with no failed request', {
    timeout: 240_000,
  }, async () => {
    const server = startKeel(
      [
        'serve',
        '--port',
        '0',
        '--json',
        '--workers',
        '2',
        '--model',
        'models:/logit@live',
        '--refresh-interval',
        '200',
        '--drain',
        '1500',
      ],
      { cwd: dir, env: ENV },
    );
    try {
      await server.waitFor(/^\}$/m);
      const { url } = JSON.parse(server.output().stdout) as { url: string };

      // A new connection each: the primary deals them out to both workers.
      const fresh = new http.Agent({ keepAlive: false });
      for (let i = 0; i < 20; i++) expect((await infer(url, fresh)).status).toBe(200);
      // Counted once each answer is written out: a scrape may come a moment before the last count.
      const metrics = await waitFor(
        'the 20 requests counted',
        async () => {
          const text = await (await fetch(`${url}/metrics`)).text();
          return {
            processes: metricSum(text, /^keel_server_processes /),
            infer: metricSum(text, /^keel_http_requests_total\{.*route="\/v2\/models\/:name\/infer"/),
          };
        },
        (m) => m.infer >= 20,
      );
      expect(metrics).toEqual({ processes: 2, infer: 20 });

      const traffic = load(url);
      await waitFor(
        '200 answers under load',
        async () => traffic.answers.length,
        (n) => n >= 200,
        { timeoutMs: 60_000 },
      );
      await registry.promotions.setAlias('logit', '2', 'live');
      // Both workers swapped: the last answers of every connection come from version 2.
      await waitFor(
        'the last 100 answers all from version 2',
        async () => traffic.answers.slice(-100).map((a) => a.version),
        (last) => last.length === 100 && last.every((v) => v === '2'),
        { timeoutMs: 60_000 },
      );

      // SIGTERM to the primary alone: it tells the workers to drain.
      server.child.kill('SIGTERM');
      await waitFor(
        '/ready answering 503 while draining',
        async () => {
          const res = await fetch(`${url}/ready`);
          return { status: res.status, draining: ((await res.json()) as { draining?: boolean }).draining };
        },
        (r) => r.status === 503 && r.draining === true,
        { timeoutMs: 30_000, everyMs: 20 },
      );
      // A load balancer stops sending once readiness is false; what was in flight is answered.
      await traffic.stop();
      const code = await server.stop(60_000);
      expect(code, server.output().stderr).toBe(0);

      expect(traffic.errors).toEqual([]);
      expect(traffic.answers.filter((a) => a.status !== 200)).toEqual([]);
      expect(traffic.answers.some((a) => a.version === '1')).toBe(true);
      expect(await countLoggedRows(join(dir, '.keel'))).toBe(traffic.answers.length + 20);
    } finally {
      await server.stop();
    }
  });
});
