/**
 * The tracking client: one interface, two transports (in-process and HTTP), the same results.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tracking } from '../../src/tracking/index.js';
import { httpTrackingClient, localTrackingClient, type TrackingClient } from '../../src/tracking/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { tempDir } from '../helpers/tracking.js';

describe('tracking client', () => {
  let server: TestServer;
  const requests: string[] = [];
  beforeAll(async () => {
    server = await startTestServer('sqlite', undefined, (method, url) =>
      requests.push(`${method} ${url.split('?')[0]}`),
    );
  });
  afterAll(async () => server.close());

  const transports: Array<[string, () => { client: TrackingClient; tracking: Tracking }]> = [
    ['in-process', () => ({ client: localTrackingClient(server.tracking), tracking: server.tracking })],
    ['http', () => ({ client: httpTrackingClient(server.url), tracking: server.tracking })],
  ];

  describe.each(transports)('%s transport', (name, make) => {
    it('logs params, stepped metrics, tags, inputs and artifacts, then ends the run', async () => {
      const { client, tracking } = make();
      const run = await client.startRun({
        experiment: `churn-${name}`,
        runName: 'gbdt',
        tags: { team: 'growth' },
      });
      await run.logParams({ learning_rate: 0.1, depth: 6, model: 'gbdt' });
      for (let step = 0; step < 50; step++)
        await run.logMetrics({ loss: 1 / (step + 1), auc: 0.5 + step / 100 }, { step });
      await run.setTags({ stage: 'dev' });
      await run.logInputs([
        {
          name: 'retail',
          digest: 'd1',
          sourceType: 'local',
          source: 'data.parquet',
          tags: { 'mlflow.data.context': 'training' },
        },
      ]);
      const dir = tempDir();
      writeFileSync(join(dir, 'model.onnx'), 'fake-onnx-bytes');
      await run.logArtifact(join(dir, 'model.onnx'), 'model');
      await run.end();

      const stored = await tracking.runs.get(run.runId);
      expect(stored.info).toMatchObject({ status: 'FINISHED', run_name: 'gbdt' });
      expect(stored.data.params).toEqual([
        { key: 'depth', value: '6' },
        { key: 'learning_rate', value: '0.1' },
        { key: 'model', value: 'gbdt' },
      ]);
      expect(stored.data.metrics.find((m) => m.key === 'auc')).toMatchObject({ value: 0.99, step: 49 });
      expect((await tracking.runs.metricHistory(run.runId, 'loss')).items).toHaveLength(50);
      const tags = Object.fromEntries(stored.data.tags.map((t) => [t.key, t.value]));
      expect(tags).toMatchObject({ team: 'growth', stage: 'dev', 'keel.env.node': process.version });
      expect(tags['keel.env.lockfile_sha256']).toMatch(/^[0-9a-f]{64}$/);
      expect(stored.inputs.dataset_inputs[0].dataset).toMatchObject({ name: 'retail', digest: 'd1' });
      expect((await tracking.listArtifacts(run.runId, 'model')).files).toEqual([
        { path: 'model/model.onnx', isDir: false, fileSize: 15 },
      ]);
      await expect(run.logMetrics({ late: 1 })).rejects.toMatchObject({ code: 'INVALID_STATE' });
    });

    it('attaches to an existing run, leaving its status to its owner, and refuses a deleted or unknown one', async () => {
      const { client, tracking } = make();
      const owner = await client.startRun({ experiment: `attach-${name}` });
      await owner.logParams({ stage: 'train' });
      const attached = await client.attachRun(owner.runId);
      expect(attached.experimentId).toBe(owner.experimentId);
      await attached.logMetrics({ roc_auc: 0.91 });
      await attached.flush();
      const stored = await tracking.runs.get(owner.runId);
      expect(stored.info.status).toBe('RUNNING');
      expect(stored.data.metrics.find((m) => m.key === 'roc_auc')?.value).toBe(0.91);
      await owner.end();
      await expect(client.attachRun('0'.repeat(32))).rejects.toMatchObject({
        code: 'RESOURCE_DOES_NOT_EXIST',
      });
      await tracking.runs.setLifecycle(owner.runId, 'deleted');
      await expect(client.attachRun(owner.runId)).rejects.toThrow(/is deleted/);
    });

    it('surfaces the server error for a changed param', async () => {
      const { client } = make();
      const run = await client.startRun({ experiment: `errors-${name}` });
      await run.logParams({ lr: 0.1 });
      await run.flush();
      await run.logParams({ lr: 0.2 });
      await expect(run.flush()).rejects.toThrow(/Changing param values is not allowed/);
    });
  });

  it('batches: a training loop logging 3,000 metrics makes a handful of log-batch requests', async () => {
    const client = httpTrackingClient(server.url);
    const run = await client.startRun({ experiment: 'batching' });
    requests.length = 0;
    for (let step = 0; step < 1000; step++)
      await run.logMetrics({ a: step, b: step * 2, c: step * 3 }, { step });
    await run.end();
    const batches = requests.filter((r) => r.endsWith('/runs/log-batch')).length;
    expect(batches).toBeGreaterThanOrEqual(3);
    expect(batches).toBeLessThanOrEqual(4);
    expect((await server.tracking.runs.metricHistory(run.runId, 'c')).items).toHaveLength(1000);
  });

  it('reports an unreachable server clearly', async () => {
    const client = httpTrackingClient('http://127.0.0.1:9', undefined, { maxRetries: 2, backoffFactorMs: 1 });
    await expect(client.startRun({ experiment: 'x' })).rejects.toMatchObject({
      code: 'TEMPORARILY_UNAVAILABLE',
    });
  });
});
