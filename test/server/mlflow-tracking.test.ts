/**
 * The MLflow tracking REST API as the MLflow Python client uses it: the same requests (GET with a
 * query string, POST with a JSON body) and the same response shapes, on a real loopback server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('MLflow tracking REST API', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => s.close());

  const api = (path: string) => `/api/2.0/mlflow/${path}`;

  it('answers /health', async () => {
    const res = await fetch(`${s.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('OK');
  });

  it('runs the client flow: set experiment, start run, log, search, end, history', async () => {
    // mlflow.set_experiment: get-by-name, then create when missing.
    const missing = await s.call('GET', `${api('experiments/get-by-name')}?experiment_name=churn`);
    expect(missing.status).toBe(404);
    expect(missing.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    const created = await s.call('POST', api('experiments/create'), { name: 'churn' });
    expect(created.status).toBe(200);
    const expId = created.body.experiment_id as string;
    expect(typeof expId).toBe('string');
    const got = await s.call('GET', `${api('experiments/get')}?experiment_id=${expId}`);
    expect(got.body.experiment).toMatchObject({
      name: 'churn',
      lifecycle_stage: 'active',
      artifact_location: `mlflow-artifacts:/${expId}`,
    });

    // mlflow.start_run
    const start = Date.now();
    const runRes = await s.call('POST', api('runs/create'), {
      experiment_id: expId,
      start_time: start,
      tags: [
        { key: 'mlflow.user', value: 'alice' },
        { key: 'mlflow.source.name', value: 'train.py' },
      ],
      run_name: 'gbdt-1',
    });
    expect(runRes.status).toBe(200);
    const run = runRes.body.run as { info: Record<string, unknown> };
    expect(run.info).toMatchObject({
      run_name: 'gbdt-1',
      status: 'RUNNING',
      start_time: start,
      user_id: 'alice',
      lifecycle_stage: 'active',
    });
    expect(typeof run.info.start_time).toBe('number');
    const runId = run.info.run_id as string;
    expect(run.info.run_uuid).toBe(runId);

    // log_param / log_metric / set_tag / log_batch
    expect(
      (await s.call('POST', api('runs/log-parameter'), { run_id: runId, key: 'lr', value: '0.1' })).status,
    ).toBe(200);
    expect(
      (
        await s.call('POST', api('runs/log-metric'), {
          run_id: runId,
          key: 'auc',
          value: 0.8,
          timestamp: start,
          step: 0,
        })
      ).status,
    ).toBe(200);
    expect(
      (await s.call('POST', api('runs/set-tag'), { run_id: runId, key: 'team', value: 'growth' })).status,
    ).toBe(200);
    const batch = await s.call('POST', api('runs/log-batch'), {
      run_id: runId,
      metrics: [
        { key: 'auc', value: 0.9, timestamp: start + 1, step: 1 },
        { key: 'loss', value: 'NaN', timestamp: start + 1, step: 1 },
      ],
      params: [{ key: 'model', value: 'gbdt' }],
      tags: [{ key: 'stage', value: 'dev' }],
    });
    expect(batch.status).toBe(200);
    expect(batch.body).toEqual({});

    // search_runs with a filter and order_by
    const search = await s.call('POST', api('runs/search'), {
      experiment_ids: [expId],
      filter: "metrics.auc > 0.85 and params.model = 'gbdt' and tags.team = 'growth'",
      run_view_type: 'ACTIVE_ONLY',
      max_results: 10,
      order_by: ['metrics.auc DESC'],
    });
    expect(search.status).toBe(200);
    const runs = search.body.runs as Array<{
      info: { run_id: string };
      data: { metrics: Array<{ key: string; value: unknown }> };
    }>;
    expect(runs.map((r) => r.info.run_id)).toEqual([runId]);
    expect(runs[0].data.metrics).toContainEqual({ key: 'auc', value: 0.9, timestamp: start + 1, step: 1 });
    expect(runs[0].data.metrics).toContainEqual({ key: 'loss', value: 'NaN', timestamp: start + 1, step: 1 });

    // get-history
    const history = await s.call('GET', `${api('metrics/get-history')}?run_id=${runId}&metric_key=auc`);
    expect(history.body.metrics).toEqual([
      { key: 'auc', value: 0.8, timestamp: start, step: 0 },
      { key: 'auc', value: 0.9, timestamp: start + 1, step: 1 },
    ]);

    // end_run
    const end = await s.call('POST', api('runs/update'), {
      run_id: runId,
      status: 'FINISHED',
      end_time: start + 10,
    });
    expect(end.body.run_info).toMatchObject({ status: 'FINISHED', end_time: start + 10 });
    const fetched = await s.call('GET', `${api('runs/get')}?run_id=${runId}`);
    expect((fetched.body.run as { info: { status: string } }).info.status).toBe('FINISHED');

    // the UI's prefix answers the same
    const ajax = await s.call('GET', `/ajax-api/2.0/mlflow/runs/get?run_id=${runId}`);
    expect(ajax.status).toBe(200);
  });

  it('searches experiments by GET with repeated order_by and by POST', async () => {
    await s.call('POST', api('experiments/create'), { name: 'exp-x', tags: [{ key: 'k', value: 'v' }] });
    const byGet = await s.call(
      'GET',
      `${api('experiments/search')}?filter=${encodeURIComponent("tags.k = 'v'")}&max_results=5&order_by=name&order_by=creation_time`,
    );
    expect(byGet.status).toBe(200);
    expect((byGet.body.experiments as Array<{ name: string }>).map((e) => e.name)).toEqual(['exp-x']);
    const byPost = await s.call('POST', api('experiments/search'), {
      filter: "name LIKE 'exp-%'",
      max_results: 1000,
    });
    expect((byPost.body.experiments as Array<{ name: string }>).map((e) => e.name)).toEqual(['exp-x']);
  });

  it('pages get-history with max_results and page_token', async () => {
    const { body } = await s.call('POST', api('runs/create'), { experiment_id: '0' });
    const runId = (body.run as { info: { run_id: string } }).info.run_id;
    const metrics = Array.from({ length: 25 }, (_, i) => ({
      key: 'm',
      value: i,
      timestamp: 1000 + i,
      step: i,
    }));
    await s.call('POST', api('runs/log-batch'), { run_id: runId, metrics });
    const seen: number[] = [];
    let token: string | undefined;
    do {
      const q = `run_id=${runId}&metric_key=m&max_results=10${token ? `&page_token=${encodeURIComponent(token)}` : ''}`;
      const page = await s.call('GET', `${api('metrics/get-history')}?${q}`);
      seen.push(...(page.body.metrics as Array<{ value: number }>).map((m) => m.value));
      token = page.body.next_page_token as string | undefined;
    } while (token);
    expect(seen).toEqual(metrics.map((m) => m.value));
    const bulk = await s.call(
      'GET',
      `${api('metrics/get-history-bulk-interval')}?run_ids=${runId}&metric_key=m&start_step=20&end_step=22`,
    );
    expect(
      (bulk.body.metrics as Array<{ step: number; run_id: string }>).map((m) => [m.step, m.run_id]),
    ).toEqual([
      [20, runId],
      [21, runId],
      [22, runId],
    ]);
  });

  it('answers an empty logged-models search and records log-model in the history tag', async () => {
    const empty = await s.call('POST', api('logged-models/search'), { experiment_ids: ['0'] });
    expect(empty).toEqual({ status: 200, body: { models: [] } });
    const { body } = await s.call('POST', api('runs/create'), { experiment_id: '0' });
    const runId = (body.run as { info: { run_id: string } }).info.run_id;
    const model = { artifact_path: 'model', flavors: { onnx: {} } };
    expect(
      (await s.call('POST', api('runs/log-model'), { run_id: runId, model_json: JSON.stringify(model) }))
        .status,
    ).toBe(200);
    const run = await s.call('GET', `${api('runs/get')}?run_id=${runId}`);
    const tag = (run.body.run as { data: { tags: Array<{ key: string; value: string }> } }).data.tags.find(
      (t) => t.key === 'mlflow.log-model.history',
    );
    expect(JSON.parse(tag!.value)).toEqual([model]);
  });

  describe('bad input gets a 4xx with the MLflow error body', () => {
    const cases: Array<[string, string, string, unknown, number, string, RegExp]> = [
      ['malformed JSON', 'POST', 'runs/log-batch', '{"run_id": ', 400, 'BAD_REQUEST', /JSON/i],
      [
        'a wrong type',
        'POST',
        'runs/log-metric',
        { run_id: 'abc', key: 'm', value: 'high', timestamp: 1 },
        400,
        'INVALID_PARAMETER_VALUE',
        /value/,
      ],
      ['a missing field', 'POST', 'experiments/create', {}, 400, 'INVALID_PARAMETER_VALUE', /name/],
      [
        'an unknown run',
        'GET',
        'runs/get?run_id=0123456789abcdef',
        undefined,
        404,
        'RESOURCE_DOES_NOT_EXIST',
        /not found/,
      ],
      [
        'an unknown experiment',
        'GET',
        'experiments/get?experiment_id=12345',
        undefined,
        404,
        'RESOURCE_DOES_NOT_EXIST',
        /12345/,
      ],
      ['a bad run id', 'GET', 'runs/get?run_id=../../x', undefined, 400, 'INVALID_PARAMETER_VALUE', /run ID/],
      [
        'a bad filter',
        'POST',
        'runs/search',
        { experiment_ids: ['0'], filter: 'metrics.auc >' },
        400,
        'INVALID_PARAMETER_VALUE',
        /filter/,
      ],
      [
        'a bad page token',
        'POST',
        'runs/search',
        { experiment_ids: ['0'], page_token: 'garbage' },
        400,
        'INVALID_PARAMETER_VALUE',
        /page token/,
      ],
      ['an unknown route', 'GET', 'runs/nope', undefined, 404, 'RESOURCE_DOES_NOT_EXIST', /No route/],
      [
        'a duplicate experiment',
        'POST',
        'experiments/create',
        { name: 'Default' },
        400,
        'RESOURCE_ALREADY_EXISTS',
        /already exists/,
      ],
    ];
    it.each(cases)('%s', async (_name, method, path, body, status, code, message) => {
      const res = await s.call(method, api(path), body);
      expect(res.status).toBe(status);
      expect(res.body.error_code).toBe(code);
      expect(res.body.message).toMatch(message);
    });

    it('refuses over-limit batches, and writes none of them', async () => {
      const { body } = await s.call('POST', api('runs/create'), { experiment_id: '0' });
      const runId = (body.run as { info: { run_id: string } }).info.run_id;
      const metrics = Array.from({ length: 1001 }, (_, i) => ({ key: 'm', value: i, timestamp: 1, step: i }));
      const tooMany = await s.call('POST', api('runs/log-batch'), { run_id: runId, metrics });
      expect(tooMany.status).toBe(400);
      expect(tooMany.body).toMatchObject({ error_code: 'INVALID_PARAMETER_VALUE' });
      expect(tooMany.body.message).toMatch(/at most 1000 metrics/);
      const tags = Array.from({ length: 101 }, (_, i) => ({ key: `t${i}`, value: 'v' }));
      expect((await s.call('POST', api('runs/log-batch'), { run_id: runId, tags })).body.message).toMatch(
        /at most 100 tags/,
      );
      const longKey = await s.call('POST', api('runs/log-parameter'), {
        run_id: runId,
        key: 'k'.repeat(251),
        value: 'v',
      });
      expect(longKey.body.message).toMatch(/limit is 250/);
      const run = await s.call('GET', `${api('runs/get')}?run_id=${runId}`);
      expect((run.body.run as { data: { metrics: unknown[] } }).data.metrics).toEqual([]);
    });

    it('refuses a body over 1 MB with 413', async () => {
      const res = await s.call('POST', api('runs/log-batch'), {
        run_id: 'x',
        params: [{ key: 'k', value: 'v'.repeat(1_100_000) }],
      });
      expect(res.status).toBe(413);
      expect(res.body.error_code).toBe('REQUEST_LIMIT_EXCEEDED');
    });
  });
});
