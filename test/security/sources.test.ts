/**
 * Reading the server's disk through the registry: over HTTP a version's source is confined to the
 * artifact store (runs:/, models:/m-..., mlflow-artifacts:/), normalised and checked to stay in
 * the run's or logged model's folder, with no symbolic link followed; a local path is taken only
 * from the CLI, acting as the local user. The error for a refused path is the same whether it
 * exists or not. experiments/create keeps artifact locations inside the store. Each attempt is
 * refused and leaves the database and the files unchanged.
 */
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logisticModelBytes, writeLogisticModel } from '../helpers/onnx.js';
import { tempDir } from '../helpers/tracking.js';
import { rawRequest } from './raw-http.js';
import { artifactRoot, securityWorld, type World } from './world.js';

describe('model version sources and artifact locations over HTTP', () => {
  let w: World;
  let root: string;
  let outside: string;
  beforeAll(async () => {
    w = await securityWorld('sqlite', undefined, { auth: true });
    root = artifactRoot(w.tracking);
    outside = tempDir();
    writeLogisticModel(outside, [1, 1, 1], 'secret.onnx');
  }, 120_000);
  afterAll(async () => w?.close());

  const call = async (path: string, body: unknown) => {
    const res = await rawRequest(w.url, 'POST', `/api/2.0/mlflow/${path}`, {
      headers: { authorization: `Bearer ${w.tokens.writer}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: JSON.parse(res.body) as { error_code?: string; message?: string } };
  };
  const register = (source: string) => call('model-versions/create', { name: 'churn', source });

  it('refuses a plain path with one answer whether it exists or not', async () => {
    const before = await w.snapshot();
    const answers = [];
    for (const source of [
      join(outside, 'secret.onnx'),
      outside,
      join(outside, 'nope.onnx'),
      '/etc/passwd',
      '/nope',
    ]) {
      const res = await register(source);
      expect(res.status, source).toBe(400);
      expect(res.body.message).not.toMatch(/exist|no such|ENOENT|holds|looked/i);
      answers.push(res.body.message?.replace(source, '<source>'));
    }
    expect(new Set(answers).size).toBe(1);
    expect(answers[0]).toMatch(/runs:\/.*models:\/m-.*mlflow-artifacts:\//);
    expect(await w.snapshot()).toBe(before);
  });

  it('keeps runs:/, models:/ and mlflow-artifacts:/ sources inside their folder', async () => {
    // Another run's model, which runs:/<run>/../.. would reach.
    const other = await w.tracking.runs.create({ experimentId: w.ids.experimentId });
    await w.tracking.artifacts.put(
      `${w.ids.experimentId}/${other.info.run_id}/artifacts/model/model.onnx`,
      logisticModelBytes([0, 1, 0]),
    );
    const before = await w.snapshot();
    for (const source of [
      `runs:/${w.ids.runId}/../../..`,
      `runs:/${w.ids.runId}/../../${other.info.run_id}/artifacts/model`,
      `runs:/${w.ids.runId}/model/../../../../models/churn/1`,
      `runs:/${w.ids.runId}/%2e%2e/%2e%2e`,
      `runs:/${w.ids.runId}//etc/passwd`,
      `models:/${w.ids.loggedModelId}/../../..`,
      'mlflow-artifacts:/../outside',
      'mlflow-artifacts://host/etc/passwd',
      'file:///etc/passwd',
      's3://bucket/model',
    ]) {
      const res = await register(source);
      expect(res.status, `${source}: ${JSON.stringify(res.body)}`).toBe(400);
      expect(res.body.message).not.toContain(root);
    }
    expect(await w.snapshot()).toBe(before);
    expect((await register(`runs:/${w.ids.runId}/model`)).status).toBe(200);
  });

  it('follows no symbolic link inside the artifact root, in sources or in the proxy', async () => {
    const dir = join(root, w.ids.experimentId, w.ids.runId, 'artifacts', 'linked');
    mkdirSync(dir, { recursive: true });
    symlinkSync(join(outside, 'secret.onnx'), join(dir, 'model.onnx'));
    symlinkSync(outside, join(root, w.ids.experimentId, w.ids.runId, 'artifacts', 'outside'));
    const before = await w.snapshot();
    for (const source of [
      `runs:/${w.ids.runId}/linked`,
      `runs:/${w.ids.runId}/outside/secret.onnx`,
      `runs:/${w.ids.runId}/outside`,
    ]) {
      const res = await register(source);
      expect(res.status, source).toBe(400);
      // A folder whose one .onnx is a link holds no ONNX file the store will read.
      expect(res.body.message).toMatch(/symbolic link|holds no \.onnx/);
    }
    const reader = { authorization: `Bearer ${w.tokens.reader}` };
    const base = `/api/2.0/mlflow-artifacts/artifacts/${w.ids.experimentId}/${w.ids.runId}/artifacts`;
    expect((await rawRequest(w.url, 'GET', `${base}/linked/model.onnx`, { headers: reader })).status).toBe(
      400,
    );
    expect((await rawRequest(w.url, 'GET', `${base}/outside/secret.onnx`, { headers: reader })).status).toBe(
      400,
    );
    const list = await rawRequest(
      w.url,
      'GET',
      `/api/2.0/mlflow-artifacts/artifacts?path=${w.ids.experimentId}/${w.ids.runId}/artifacts/outside`,
      { headers: reader },
    );
    expect(list.status).toBe(400);
    const writer = { authorization: `Bearer ${w.tokens.writer}`, 'content-type': 'application/octet-stream' };
    expect(
      (await rawRequest(w.url, 'PUT', `${base}/outside/planted.txt`, { headers: writer, body: 'x' })).status,
    ).toBe(400);
    expect(
      (await rawRequest(w.url, 'DELETE', `${base}/outside/secret.onnx`, { headers: writer })).status,
    ).toBe(400);
    expect(await w.snapshot()).toBe(before);
  });

  it('keeps an experiment artifact location inside the store, outside the registry folder', async () => {
    const before = await w.snapshot();
    for (const location of [
      'file:///etc',
      '/tmp/x',
      's3://bucket/x',
      'mlflow-artifacts:/../x',
      'mlflow-artifacts:/models/churn',
      'mlflow-artifacts:/models',
      'mlflow-artifacts://host/x',
    ]) {
      const res = await call('experiments/create', { name: `e-${location}`, artifact_location: location });
      expect(res.status, location).toBe(400);
      expect(res.body.message).toMatch(/artifact_location|artifact location/i);
    }
    expect(await w.snapshot()).toBe(before);
    expect(
      (await call('experiments/create', { name: 'team-a', artifact_location: 'mlflow-artifacts:/team-a' }))
        .status,
    ).toBe(200);
  });

  it('still takes a local path from the CLI acting as the local user', async () => {
    const v = await w.registry.versions.create({ name: 'churn', source: join(outside, 'secret.onnx') });
    expect(Number(v.version)).toBeGreaterThan(1);
  });
});
