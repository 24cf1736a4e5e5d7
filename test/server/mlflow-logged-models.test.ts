/**
 * MLflow 3's logged-model API as the Python client drives it (rest_store.py), on a real loopback
 * server: the request sequence of `mlflow.sklearn.log_model` inside a run, then search, tags,
 * delete, and bad input answered with MLflow's error body.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface ModelJson {
  info: Record<string, unknown> & { model_id: string; artifact_uri: string; tags: unknown[] };
  data: { params: unknown[]; metrics: Array<Record<string, unknown>> };
}

describe('MLflow logged models REST API', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => s.close());

  const api = (path: string) => `/api/2.0/mlflow/${path}`;
  const modelOf = (body: Record<string, unknown>) => body.model as ModelJson;
  const create = async (body: Record<string, unknown>) => {
    const res = await s.call('POST', api('logged-models'), body);
    expect(res.status).toBe(200);
    return modelOf(res.body);
  };

  it('replays mlflow.sklearn.log_model: create, link outputs and metrics, upload, finalize, get', async () => {
    const expId = (await s.call('POST', api('experiments/create'), { name: 'sk' })).body
      .experiment_id as string;
    const start = Date.now();
    const runRes = await s.call('POST', api('runs/create'), { experiment_id: expId, start_time: start });
    const runId = (runRes.body.run as { info: { run_id: string } }).info.run_id;
    await s.call('POST', api('runs/log-batch'), {
      run_id: runId,
      params: [{ key: 'C', value: '1.0' }],
      metrics: [{ key: 'accuracy', value: 0.93, timestamp: start, step: 0 }],
    });

    // Model.log: the run's params go on the model, with the client's context tags.
    const params = (await s.call('GET', `${api('runs/get')}?run_id=${runId}`)).body.run as {
      data: { params: Array<{ key: string; value: string }> };
    };
    const created = await create({
      experiment_id: expId,
      name: 'model',
      source_run_id: runId,
      params: params.data.params,
      tags: [
        { key: 'mlflow.user', value: 'ann' },
        { key: 'mlflow.source.name', value: 'train.py' },
        { key: 'mlflow.source.type', value: 'LOCAL' },
      ],
    });
    const id = created.info.model_id;
    expect(id).toMatch(/^m-[0-9a-f]{32}$/);
    expect(created.info).toMatchObject({
      experiment_id: expId,
      name: 'model',
      status: 'LOGGED_MODEL_PENDING',
      source_run_id: runId,
      artifact_uri: `mlflow-artifacts:/${expId}/models/${id}/artifacts`,
    });
    expect(typeof created.info.creation_timestamp_ms).toBe('number');
    expect(created.data.params).toEqual([{ key: 'C', value: '1.0' }]);

    expect(
      (await s.call('POST', api('runs/outputs'), { run_id: runId, models: [{ model_id: id, step: 0 }] }))
        .status,
    ).toBe(200);
    const history = await s.call('GET', `${api('metrics/get-history')}?run_id=${runId}&metric_key=accuracy`);
    const points = history.body.metrics as Array<Record<string, unknown>>;
    const relog = await s.call('POST', api('runs/log-batch'), {
      run_id: runId,
      metrics: points.map((m) => ({ ...m, model_id: id, run_id: runId })),
    });
    expect(relog).toEqual({ status: 200, body: {} });

    // log_model_artifacts: read the model's location, then PUT each file through the proxy.
    const location = modelOf((await s.call('GET', api(`logged-models/${id}`))).body).info.artifact_uri;
    const root = location.replace('mlflow-artifacts:/', '');
    const files: Record<string, string> = {
      MLmodel: `artifact_path: ${location}\nflavors:\n  sklearn:\n    pickled_model: model.pkl\nmodel_id: ${id}\nrun_id: ${runId}\n`,
      'model.pkl': '\u0080\u0004pickle',
      'requirements.txt': 'mlflow==3\nscikit-learn\n',
    };
    for (const [name, body] of Object.entries(files)) {
      const put = await fetch(`${s.url}/api/2.0/mlflow-artifacts/artifacts/${root}/${name}`, {
        method: 'PUT',
        body,
        headers: { 'content-type': 'application/octet-stream' },
      });
      expect(put.status).toBe(200);
    }

    const finalized = await s.call('PATCH', api(`logged-models/${id}`), {
      model_id: id,
      status: 'LOGGED_MODEL_READY',
    });
    expect(finalized.status).toBe(200);
    expect(modelOf(finalized.body).info.status).toBe('LOGGED_MODEL_READY');

    const got = modelOf((await s.call('GET', api(`logged-models/${id}`))).body);
    expect(got.info.status).toBe('LOGGED_MODEL_READY');
    expect(got.data.metrics).toEqual([
      { key: 'accuracy', value: 0.93, timestamp: start, step: 0, model_id: id, run_id: runId },
    ]);
    // The re-logged point did not double the run's history.
    expect(
      (await s.call('GET', `${api('metrics/get-history')}?run_id=${runId}&metric_key=accuracy`)).body.metrics,
    ).toHaveLength(1);
    const run = (await s.call('GET', `${api('runs/get')}?run_id=${runId}`)).body.run as {
      outputs: { model_outputs: unknown[] };
    };
    expect(run.outputs.model_outputs).toEqual([{ model_id: id, step: 0 }]);

    // load_model reads the files back from the same place; the UI lists them per model.
    const mlmodel = await fetch(`${s.url}/api/2.0/mlflow-artifacts/artifacts/${root}/MLmodel`);
    expect(await mlmodel.text()).toBe(files.MLmodel);
    const listed = await s.call('GET', api(`logged-models/${id}/artifacts/directories`));
    expect(listed.body).toEqual({
      root_uri: location,
      files: [
        { path: 'MLmodel', is_dir: false, file_size: Buffer.byteLength(files.MLmodel) },
        { path: 'model.pkl', is_dir: false, file_size: Buffer.byteLength(files['model.pkl']) },
        { path: 'requirements.txt', is_dir: false, file_size: Buffer.byteLength(files['requirements.txt']) },
      ],
    });
    const ajax = await s.call('GET', `/ajax-api/2.0/mlflow/logged-models/${id}`);
    expect(modelOf(ajax.body).info.model_id).toBe(id);
  });

  it('searches by name and status, sets and deletes tags, logs params and deletes softly', async () => {
    const expId = (await s.call('POST', api('experiments/create'), { name: 'lm-search' })).body
      .experiment_id as string;
    const a = (await create({ experiment_id: expId, name: 'rf' })).info.model_id;
    const b = (await create({ experiment_id: expId, name: 'gbdt', model_type: 'classifier' })).info.model_id;
    await s.call('PATCH', api(`logged-models/${b}`), { model_id: b, status: 2 });

    const search = async (body: Record<string, unknown>) => {
      const res = await s.call('POST', api('logged-models/search'), { experiment_ids: [expId], ...body });
      expect(res.status).toBe(200);
      return res.body as { models: ModelJson[]; next_page_token?: string };
    };
    const names = async (body: Record<string, unknown>) =>
      (await search(body)).models.map((m) => m.info.name);
    expect(await names({ filter: "name = 'rf'" })).toEqual(['rf']);
    expect(await names({ filter: "status = 'READY'" })).toEqual(['gbdt']);
    expect(await names({ filter: "model_type = 'classifier'" })).toEqual(['gbdt']);
    expect(await names({ order_by: [{ field_name: 'name', ascending: true }] })).toEqual(['gbdt', 'rf']);
    const paged = await search({ max_results: 1 });
    expect(paged.models).toHaveLength(1);
    expect((await search({ max_results: 1, page_token: paged.next_page_token })).models).toHaveLength(1);

    // set_logged_model_tags sends only the tags; the id is in the path.
    expect(
      await s.call('PATCH', api(`logged-models/${a}/tags`), {
        tags: [
          { key: 'stage', value: 'dev' },
          { key: 'owner', value: 'ann' },
        ],
      }),
    ).toEqual({ status: 200, body: {} });
    expect(await names({ filter: "tags.stage = 'dev'" })).toEqual(['rf']);
    expect((await s.call('DELETE', api(`logged-models/${a}/tags/owner`))).status).toBe(200);
    expect(
      (
        await s.call('POST', api(`logged-models/${a}/params`), {
          model_id: a,
          params: [{ key: 'k', value: '1' }],
        })
      ).status,
    ).toBe(200);
    const tagged = modelOf((await s.call('GET', api(`logged-models/${a}`))).body);
    expect(tagged.info.tags).toEqual([{ key: 'stage', value: 'dev' }]);
    expect(tagged.data.params).toEqual([{ key: 'k', value: '1' }]);
    expect(await names({ filter: "params.k = '1'" })).toEqual(['rf']);

    expect(await s.call('DELETE', api(`logged-models/${a}`), { model_id: a })).toEqual({
      status: 200,
      body: {},
    });
    expect(await names({})).toEqual(['gbdt']);
    expect((await s.call('GET', api(`logged-models/${a}`))).status).toBe(404);
  });

  describe('bad input gets a 4xx with the MLflow error body', () => {
    const cases: Array<[string, string, string, unknown, number, string, RegExp]> = [
      [
        'an unknown model',
        'GET',
        'logged-models/m-00000000000000000000000000000000',
        undefined,
        404,
        'RESOURCE_DOES_NOT_EXIST',
        /Logged model with ID 'm-0+' not found/,
      ],
      [
        'no experiment id',
        'POST',
        'logged-models',
        { name: 'x' },
        400,
        'INVALID_PARAMETER_VALUE',
        /experiment_id/,
      ],
      [
        'an unknown experiment',
        'POST',
        'logged-models',
        { experiment_id: '999' },
        404,
        'RESOURCE_DOES_NOT_EXIST',
        /999/,
      ],
      [
        'a forbidden name',
        'POST',
        'logged-models',
        { experiment_id: '0', name: 'a/b' },
        400,
        'INVALID_PARAMETER_VALUE',
        /Invalid model name/,
      ],
      [
        'an unknown status',
        'PATCH',
        'logged-models/m-1',
        { model_id: 'm-1', status: 'DONE' },
        400,
        'INVALID_PARAMETER_VALUE',
        /status/,
      ],
      [
        'status 0 (unspecified)',
        'PATCH',
        'logged-models/m-1',
        { model_id: 'm-1', status: 0 },
        400,
        'INVALID_PARAMETER_VALUE',
        /status/,
      ],
      [
        'a search without experiments',
        'POST',
        'logged-models/search',
        {},
        400,
        'INVALID_PARAMETER_VALUE',
        /experiment_ids/,
      ],
      [
        'a bad filter',
        'POST',
        'logged-models/search',
        { experiment_ids: ['0'], filter: 'metrics.auc >' },
        400,
        'INVALID_PARAMETER_VALUE',
        /filter/,
      ],
      [
        'an order_by on params',
        'POST',
        'logged-models/search',
        { experiment_ids: ['0'], order_by: [{ field_name: 'params.x' }] },
        400,
        'INVALID_PARAMETER_VALUE',
        /order_by/,
      ],
      [
        'a tag of an unknown model',
        'DELETE',
        'logged-models/m-1/tags/k',
        undefined,
        404,
        'RESOURCE_DOES_NOT_EXIST',
        /m-1/,
      ],
    ];
    it.each(cases)('%s', async (_name, method, path, body, status, code, message) => {
      const res = await s.call(method, api(path), body);
      expect(res.status).toBe(status);
      expect(res.body.error_code).toBe(code);
      expect(res.body.message).toMatch(message);
    });

    it('refuses links to an unknown model and writes none of the batch', async () => {
      const { body } = await s.call('POST', api('runs/create'), { experiment_id: '0' });
      const runId = (body.run as { info: { run_id: string } }).info.run_id;
      const output = await s.call('POST', api('runs/outputs'), {
        run_id: runId,
        models: [{ model_id: 'm-missing', step: 0 }],
      });
      expect(output.status).toBe(404);
      expect(output.body).toEqual({
        error_code: 'RESOURCE_DOES_NOT_EXIST',
        message: "Logged model with ID 'm-missing' not found.",
      });
      const res = await s.call('POST', api('runs/log-batch'), {
        run_id: runId,
        metrics: [{ key: 'm', value: 1, timestamp: 1, step: 0, model_id: 'm-missing' }],
        params: [{ key: 'p', value: 'v' }],
      });
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ error_code: 'RESOURCE_DOES_NOT_EXIST' });
      const run = (await s.call('GET', `${api('runs/get')}?run_id=${runId}`)).body.run as {
        data: { params: unknown[]; metrics: unknown[] };
      };
      expect(run.data).toMatchObject({ params: [], metrics: [] });
    });
  });
});
