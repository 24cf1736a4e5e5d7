/**
 * The MLflow model registry REST API as the MLflow Python client uses it (GET with a query string,
 * everything else with a JSON body), on a real loopback server: the same requests, the same
 * response shapes, and 4xx with MLflow's error body for bad input.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLogisticModel } from '../helpers/onnx.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { tempDir } from '../helpers/tracking.js';
import { trainedRun } from '../registry/fixtures.js';

describe('MLflow model registry REST API', () => {
  let s: TestServer;
  let runId: string;
  beforeAll(async () => {
    s = await startTestServer();
    runId = await trainedRun(s.tracking);
  });
  afterAll(async () => s.close());

  const api = (path: string) => `/api/2.0/mlflow/${path}`;
  const q = (path: string, params: Record<string, string>) => `${api(path)}?${new URLSearchParams(params)}`;

  it('runs mlflow.register_model, then reads the model and version back', async () => {
    const created = await s.call('POST', api('registered-models/create'), {
      name: 'churn',
      tags: [{ key: 'team', value: 'growth' }],
    });
    expect(created.status).toBe(200);
    expect(created.body.registered_model).toMatchObject({
      name: 'churn',
      tags: [{ key: 'team', value: 'growth' }],
    });
    const again = await s.call('POST', api('registered-models/create'), { name: 'churn' });
    expect(again).toMatchObject({ status: 400, body: { error_code: 'RESOURCE_ALREADY_EXISTS' } });

    const mv = await s.call('POST', api('model-versions/create'), {
      name: 'churn',
      source: `runs:/${runId}/model`,
      run_id: runId,
    });
    expect(mv.status).toBe(200);
    const version = mv.body.model_version as Record<string, unknown>;
    expect(version).toMatchObject({
      name: 'churn',
      version: '1',
      current_stage: 'None',
      status: 'READY',
      run_id: runId,
      aliases: [],
      tags: [{ key: 'keel.servable', value: 'true' }],
    });
    expect(typeof version.creation_timestamp).toBe('number');

    const got = await s.call('GET', q('model-versions/get', { name: 'churn', version: '1' }));
    expect(got.body.model_version).toEqual(version);
    const model = await s.call('GET', q('registered-models/get', { name: 'churn' }));
    expect(model.body.registered_model).toMatchObject({
      name: 'churn',
      latest_versions: [{ version: '1', current_stage: 'None' }],
      aliases: [],
    });
    const uri = await s.call('GET', q('model-versions/get-download-uri', { name: 'churn', version: '1' }));
    expect(uri.body).toEqual({ artifact_uri: 'mlflow-artifacts:/models/churn/1' });
  });

  it('registers an ONNX file uploaded through the artifact proxy', async () => {
    const bytes = readFileSync(writeLogisticModel(tempDir(), [2, 2, 2]));
    const put = await fetch(`${s.url}/api/2.0/mlflow-artifacts/artifacts/uploads/foreign.onnx`, {
      method: 'PUT',
      body: bytes,
    });
    expect(put.status).toBe(200);
    const mv = await s.call('POST', api('model-versions/create'), {
      name: 'churn',
      source: 'mlflow-artifacts:/uploads/foreign.onnx',
    });
    expect(mv.body.model_version).toMatchObject({ version: '2', run_id: '' });
    await fetch(`${s.url}/api/2.0/mlflow-artifacts/artifacts/uploads/bad.onnx`, {
      method: 'PUT',
      body: 'not a model',
    });
    const bad = await s.call('POST', api('model-versions/create'), {
      name: 'churn',
      source: 'mlflow-artifacts:/uploads/bad.onnx',
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error_code: 'INVALID_PARAMETER_VALUE' });
    expect(bad.body.message).toContain('bad.onnx');
  });

  it('transitions stages, lists latest versions, and sets, gets and deletes aliases and tags', async () => {
    const t = await s.call('POST', api('model-versions/transition-stage'), {
      name: 'churn',
      version: '1',
      stage: 'Staging',
      archive_existing_versions: false,
    });
    expect(t.body.model_version).toMatchObject({ version: '1', current_stage: 'Staging' });
    await s.call('POST', api('model-versions/transition-stage'), {
      name: 'churn',
      version: '2',
      stage: 'Production',
      archive_existing_versions: true,
    });
    const latest = await s.call('POST', api('registered-models/get-latest-versions'), {
      name: 'churn',
      stages: ['Production'],
    });
    expect((latest.body.model_versions as Array<{ version: string }>).map((v) => v.version)).toEqual(['2']);
    const latestGet = await s.call(
      'GET',
      `${api('registered-models/get-latest-versions')}?name=churn&stages=Staging&stages=Production`,
    );
    expect((latestGet.body.model_versions as Array<{ version: string }>).map((v) => v.version)).toEqual([
      '1',
      '2',
    ]);

    expect(
      (
        await s.call('POST', api('registered-models/alias'), {
          name: 'churn',
          alias: 'challenger',
          version: '1',
        })
      ).status,
    ).toBe(200);
    const byAlias = await s.call('GET', q('registered-models/alias', { name: 'churn', alias: 'challenger' }));
    expect(byAlias.body.model_version).toMatchObject({ version: '1', aliases: ['challenger'] });
    const reserved = await s.call('POST', api('registered-models/alias'), {
      name: 'churn',
      alias: 'v2',
      version: '1',
    });
    expect(reserved).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE' } });
    const model = await s.call('GET', q('registered-models/get', { name: 'churn' }));
    expect((model.body.registered_model as { aliases: unknown }).aliases).toEqual([
      { alias: 'challenger', version: '1' },
      { alias: 'champion', version: '2' },
    ]);
    expect(
      (await s.call('DELETE', api('registered-models/alias'), { name: 'churn', alias: 'challenger' })).status,
    ).toBe(200);
    expect(
      (await s.call('GET', q('registered-models/alias', { name: 'churn', alias: 'challenger' }))).status,
    ).toBe(404);

    await s.call('POST', api('model-versions/set-tag'), {
      name: 'churn',
      version: '1',
      key: 'validation_status',
      value: 'approved',
    });
    await s.call('POST', api('registered-models/set-tag'), { name: 'churn', key: 'owner', value: 'alice' });
    const search = await s.call(
      'GET',
      q('model-versions/search', { filter: "tags.validation_status = 'approved'" }),
    );
    expect((search.body.model_versions as Array<{ version: string }>).map((v) => v.version)).toEqual(['1']);
    expect(
      (
        await s.call('DELETE', api('model-versions/delete-tag'), {
          name: 'churn',
          version: '1',
          key: 'validation_status',
        })
      ).status,
    ).toBe(200);
    expect(
      (await s.call('DELETE', api('registered-models/delete-tag'), { name: 'churn', key: 'owner' })).status,
    ).toBe(200);
    const missingTag = await s.call('DELETE', api('registered-models/delete-tag'), {
      name: 'churn',
      key: 'owner',
    });
    expect(missingTag).toMatchObject({ status: 404, body: { error_code: 'RESOURCE_DOES_NOT_EXIST' } });
  });

  it('searches, renames, updates and deletes like MLflow, under /ajax-api too', async () => {
    await s.call('POST', api('registered-models/create'), { name: 'fraud' });
    const search = await s.call(
      'GET',
      q('registered-models/search', { filter: "name LIKE '%r%'", max_results: '1' }),
    );
    expect((search.body.registered_models as Array<{ name: string }>).map((m) => m.name)).toEqual(['churn']);
    expect(typeof search.body.next_page_token).toBe('string');
    const ajax = await s.call(
      'GET',
      `/ajax-api/2.0/mlflow/registered-models/search?${new URLSearchParams({ filter: "name = 'fraud'" })}`,
    );
    expect((ajax.body.registered_models as Array<{ name: string }>).map((m) => m.name)).toEqual(['fraud']);
    const renamed = await s.call('POST', api('registered-models/rename'), {
      name: 'fraud',
      new_name: 'fraud-v2',
    });
    expect(renamed.body.registered_model).toMatchObject({ name: 'fraud-v2' });
    const updated = await s.call('PATCH', api('registered-models/update'), {
      name: 'fraud-v2',
      description: 'card fraud',
    });
    expect(updated.body.registered_model).toMatchObject({ description: 'card fraud' });
    const mvUpdated = await s.call('PATCH', api('model-versions/update'), {
      name: 'churn',
      version: '1',
      description: 'gbdt',
    });
    expect(mvUpdated.body.model_version).toMatchObject({ description: 'gbdt' });
    expect((await s.call('DELETE', api('registered-models/delete'), { name: 'fraud-v2' })).status).toBe(200);
    expect((await s.call('GET', q('registered-models/get', { name: 'fraud-v2' }))).status).toBe(404);
  });

  it('creates, lists, reads, changes, tests and deletes webhooks (MLflow 3)', async () => {
    const created = await s.call('POST', api('webhooks'), {
      name: 'ci',
      url: 'http://127.0.0.1:9/hook',
      events: [{ entity: 'model_version', action: 'created' }, 'model_version_alias.created'],
      secret: 'x',
    });
    expect(created.status).toBe(200);
    const hook = created.body.webhook as { webhook_id: string };
    expect(hook).toMatchObject({ name: 'ci', status: 'ACTIVE' });
    expect(hook).not.toHaveProperty('secret');
    const listed = await s.call('GET', api('webhooks'));
    expect((listed.body.webhooks as Array<{ webhook_id: string }>).map((w) => w.webhook_id)).toEqual([
      hook.webhook_id,
    ]);
    const patched = await s.call('PATCH', api(`webhooks/${hook.webhook_id}`), { status: 'DISABLED' });
    expect(patched.body.webhook).toMatchObject({ status: 'DISABLED', name: 'ci' });
    const tested = await s.call('POST', api(`webhooks/${hook.webhook_id}/test`), {});
    expect(tested.body.result).toMatchObject({ success: false });
    const bad = await s.call('POST', api('webhooks'), {
      name: 'x',
      url: 'http://a',
      events: ['nope.happened'],
    });
    expect(bad).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE' } });
    expect((await s.call('DELETE', api(`webhooks/${hook.webhook_id}`))).status).toBe(200);
    expect((await s.call('GET', api(`webhooks/${hook.webhook_id}`))).status).toBe(404);
  });

  it('answers bad input with 4xx and the MLflow error body, never a 500', async () => {
    const cases: Array<[string, string, unknown?]> = [
      ['POST', api('registered-models/create'), {}],
      ['POST', api('registered-models/create'), { name: 'a@b' }],
      ['GET', q('model-versions/get', { name: 'churn', version: 'one' })],
      ['GET', q('model-versions/get', { name: 'churn', version: '99' })],
      ['POST', api('model-versions/transition-stage'), { name: 'churn', version: '1', stage: 'Live' }],
      ['GET', q('registered-models/search', { filter: 'name ~ 3' })],
      ['GET', q('model-versions/search', { filter: "metrics.auc > '1'" })],
      ['POST', api('model-versions/create'), { name: 'churn', source: 's3://bucket/model' }],
      ['POST', api('model-versions/create'), { name: 'churn', source: 'runs:/0123456789abcdef/model' }],
      ['POST', api('registered-models/alias'), '{not json'],
    ];
    for (const [method, path, body] of cases) {
      const res = await s.call(method, path, body);
      expect(res.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${method} ${path}`).toBeLessThan(500);
      expect(typeof res.body.error_code).toBe('string');
      expect(typeof res.body.message).toBe('string');
    }
  });
});
