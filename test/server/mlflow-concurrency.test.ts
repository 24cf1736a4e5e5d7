/**
 * Concurrent MLflow clients writing to the same run, over HTTP, on SQLite and PostgreSQL: runs are
 * written in `rows` transactions that run side by side on PostgreSQL, and none of these writes may
 * be lost or refused for the wrong reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { serviceUrl } from '../helpers/services.js';
import type { Backend } from '../helpers/tracking.js';

const pgUrl = await serviceUrl('postgres');
const backends: Array<[Backend, string | undefined]> = [['sqlite', undefined]];
if (pgUrl) backends.push(['postgres', pgUrl]);

const api = (path: string) => `/api/2.0/mlflow/${path}`;
const N = 12;

describe.each(backends)('concurrent writes to one run on %s', (backend, url) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(backend, url);
  });
  afterAll(async () => s.close());

  const newRun = async () => {
    const { body } = await s.call('POST', api('runs/create'), { experiment_id: '0' });
    return (body.run as { info: { run_id: string } }).info.run_id;
  };
  const tags = async (runId: string) => {
    const { body } = await s.call('GET', `${api('runs/get')}?run_id=${runId}`);
    const run = body.run as { data: { tags: Array<{ key: string; value: string }> } };
    return new Map(run.data.tags.map((t) => [t.key, t.value]));
  };

  it('keeps every model of concurrent log-model calls in the history tag', async () => {
    const runId = await newRun();
    const answers = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        s.call('POST', api('runs/log-model'), {
          run_id: runId,
          model_json: JSON.stringify({ artifact_path: `model-${i}`, flavors: { onnx: {} } }),
        }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(N).fill(200));
    const history = JSON.parse((await tags(runId)).get('mlflow.log-model.history')!) as Array<{
      artifact_path: string;
    }>;
    expect(history.map((m) => m.artifact_path).sort()).toEqual(
      Array.from({ length: N }, (_, i) => `model-${i}`).sort(),
    );
  });

  it('refuses a log-model whose history tag is not a JSON list, with a 400', async () => {
    const runId = await newRun();
    await s.call('POST', api('runs/set-tag'), { run_id: runId, key: 'mlflow.log-model.history', value: '{' });
    const res = await s.call('POST', api('runs/log-model'), { run_id: runId, model_json: '{}' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error_code: 'INVALID_PARAMETER_VALUE' });
    expect(res.body.message).toMatch(/not a JSON list/);
  });

  it('keeps every point of concurrent log-batch calls and the latest value per key', async () => {
    const runId = await newRun();
    const answers = await Promise.all(
      Array.from({ length: N }, (_, b) =>
        s.call('POST', api('runs/log-batch'), {
          run_id: runId,
          // Every batch writes the same keys, in a different order, so their locks cross.
          metrics: Array.from({ length: 50 }, (_, i) => ({
            key: `m${(i + b) % 10}`,
            value: b * 100 + i,
            timestamp: 1_700_000_000_000,
            step: b * 50 + i,
          })),
          tags: [{ key: `t${b % 3}`, value: String(b) }],
        }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(N).fill(200));
    const history = await s.call('GET', `${api('metrics/get-history')}?run_id=${runId}&metric_key=m0`);
    expect((history.body.metrics as unknown[]).length).toBe(N * 5);
    const { body } = await s.call('GET', `${api('runs/get')}?run_id=${runId}`);
    const latest = (body.run as { data: { metrics: Array<{ key: string; step: number }> } }).data.metrics;
    expect(latest).toHaveLength(10);
    // The highest step of each key is in the last batch.
    for (const m of latest) expect(m.step).toBeGreaterThanOrEqual((N - 1) * 50);
  });

  it('lets concurrent batches log the same param value, and keeps the first of different values', async () => {
    const runId = await newRun();
    const same = await Promise.all(
      Array.from({ length: N }, () =>
        s.call('POST', api('runs/log-parameter'), { run_id: runId, key: 'lr', value: '0.1' }),
      ),
    );
    expect(same.map((a) => a.status)).toEqual(Array(N).fill(200));
    const different = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        s.call('POST', api('runs/log-batch'), {
          run_id: runId,
          params: [{ key: 'depth', value: String(i) }],
        }),
      ),
    );
    const ok = different.filter((a) => a.status === 200);
    expect(ok).toHaveLength(1);
    for (const refused of different.filter((a) => a.status !== 200)) {
      expect(refused).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE' } });
      expect(refused.body.message).toMatch(/Changing param values is not allowed/);
    }
  });

  it('ends a run while batches are still arriving, and keeps every batch', async () => {
    const runId = await newRun();
    const writes = Array.from({ length: N }, (_, b) =>
      s.call('POST', api('runs/log-metric'), { run_id: runId, key: 'loss', value: b, timestamp: 1, step: b }),
    );
    const end = s.call('POST', api('runs/update'), { run_id: runId, status: 'FINISHED' });
    expect((await Promise.all([...writes, end])).map((a) => a.status)).toEqual(Array(N + 1).fill(200));
    const history = await s.call('GET', `${api('metrics/get-history')}?run_id=${runId}&metric_key=loss`);
    expect((history.body.metrics as unknown[]).length).toBe(N);
    const { body } = await s.call('GET', `${api('runs/get')}?run_id=${runId}`);
    expect((body.run as { info: { status: string } }).info.status).toBe('FINISHED');
  });
});
