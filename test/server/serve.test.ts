/**
 * `keel serve` as started by the CLI: every API family on one port over the configured stores,
 * and the models it serves online.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/index.js';
import { readPredictions } from '../../src/monitoring/index.js';
import { Registry } from '../../src/registry/index.js';
import { buildApp, startServer } from '../../src/server/index.js';
import { runProcess } from '../helpers/cli.js';
import { writeLogisticModel } from '../helpers/onnx.js';
import { openTestRegistry } from '../helpers/registry.js';
import { tempDir } from '../helpers/tracking.js';

describe('startServer', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    server = await startServer(loadConfig({ cwd: tempDir(), env: {} }), { port: 0 });
  });
  afterAll(async () => server.close());

  it('serves health, MLflow tracking and registry, and the Feast feature server on one port', async () => {
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    const exp = await fetch(`${server.url}/api/2.0/mlflow/experiments/get?experiment_id=0`);
    expect(((await exp.json()) as { experiment: { name: string } }).experiment.name).toBe('Default');
    const models = await fetch(`${server.url}/api/2.0/mlflow/registered-models/search`);
    expect(models.status).toBe(200);
    const feast = await fetch(`${server.url}/get-online-features`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ features: ['customer:nope'], entities: { customer_id: [1] } }),
    });
    expect(feast.status).toBeGreaterThanOrEqual(400);
    expect(feast.status).toBeLessThan(500);
    // Feast's error detail: a JSON string holding {module, class, message}.
    const detail = JSON.parse((await feast.json()) as string) as { message: string };
    expect(detail.message).toMatch(/customer/);
  });
});

describe('startServer with models to serve', () => {
  it('loads them and mounts the scoring routes; a model that does not load stops the start', async () => {
    const cwd = tempDir();
    const config = loadConfig({ cwd, env: {} });
    const registry = await Registry.open(config);
    await registry.models.create('logit');
    await registry.versions.create({ name: 'logit', source: writeLogisticModel(cwd, [1, 0, 0]) });
    await registry.close();

    const server = await startServer(config, { port: 0, models: ['models:/logit/1'] });
    let requestId: string | null = null;
    try {
      expect((await fetch(`${server.url}/ping`)).status).toBe(200);
      const res = await fetch(`${server.url}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [[0, 5, 5]] }),
      });
      expect(await res.json()).toEqual({ predictions: [0.5] });
      requestId = res.headers.get('x-request-id');
      expect((await fetch(`${server.url}/v2/models/logit/ready`)).status).toBe(200);
    } finally {
      await server.close();
    }
    // Closing wrote the prediction log's last rows under the configured home.
    expect(
      (await readPredictions({ home: config.home, model: 'logit' })).map((p) => [p.requestId, p.score]),
    ).toEqual([[requestId, 0.5]]);
    await expect(
      startServer(config, { port: 0, models: ['models:/logit/1', 'models:/churn@champion'] }),
    ).rejects.toMatchObject({
      code: 'RESOURCE_DOES_NOT_EXIST',
      message: expect.stringContaining("'churn'"),
    });
  });
});

describe('JSON schemas', () => {
  it("are never compiled: a server starts and answers, good input and bad, without Fastify's compilers loaded", async () => {
    // A fresh process, as `keel serve` starts: ajv and fast-json-stringify's compiler cost 80-100 ms
    // of a cold start. (Fastify's error serializer, a few lines of fast-json-stringify, is loaded.)
    const src = (path: string) => JSON.stringify(new URL(`../../src/${path}`, import.meta.url).href);
    const script = `
      import { createRequire } from 'node:module';
      import { mkdtempSync } from 'node:fs';
      import { tmpdir } from 'node:os';
      import { join } from 'node:path';
      const { loadConfig } = await import(${src('core/index.ts')});
      const { startServer } = await import(${src('server/index.ts')});
      const server = await startServer(loadConfig({ cwd: mkdtempSync(join(tmpdir(), 'keel-')), env: {} }), { port: 0 });
      const good = await fetch(server.url + '/api/2.0/mlflow/experiments/get?experiment_id=0');
      const bad = await fetch(server.url + '/api/2.0/mlflow/experiments/create', {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name": 7}' });
      await server.close();
      const loaded = Object.keys(createRequire(import.meta.url).cache);
      console.log(JSON.stringify({
        statuses: [good.status, bad.status],
        compilers: loaded.filter((k) => /\\/node_modules\\/(ajv\\/|fast-json-stringify\\/index\\.js)/.test(k)).length,
      }));`;
    const run = await runProcess(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: process.cwd(),
    });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ statuses: [200, 400], compilers: 0 });
  });

  it('refuse, when the app starts, a route that declares one, naming it', async () => {
    const { tracking, registry, cleanup } = await openTestRegistry('sqlite');
    const app = await buildApp({ services: { tracking, registry }, logger: false });
    try {
      app.post(
        '/with-schema',
        { config: { permission: 'read' }, schema: { body: { type: 'object' } } },
        async () => ({ ok: true }),
      );
      await expect(app.ready()).rejects.toThrow(/POST \/with-schema declares a JSON schema for its input/);
    } finally {
      await app.close().catch(() => undefined);
      await cleanup();
    }
  });
});
