/**
 * The artifact proxy as MLflow's HttpArtifactRepository uses it: PUT raw bytes, GET them back,
 * list a folder (basenames), DELETE; and path traversal refused with the MLflow error body.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('MLflow artifact proxy', () => {
  let s: TestServer;
  let root: string;
  let runId: string;
  beforeAll(async () => {
    s = await startTestServer();
    const { body } = await s.call('POST', '/api/2.0/mlflow/runs/create', { experiment_id: '0' });
    const info = (body.run as { info: { run_id: string; artifact_uri: string } }).info;
    runId = info.run_id;
    root = info.artifact_uri.replace('mlflow-artifacts:/', '');
  });
  afterAll(async () => s.close());

  const url = (path: string) => `${s.url}/api/2.0/mlflow-artifacts/artifacts/${path}`;

  it('uploads, lists, downloads and deletes through the proxy', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 251, 255]);
    const put = await fetch(url(`${root}/model/model.onnx`), {
      method: 'PUT',
      body: bytes,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(put.status).toBe(200);
    const text = await fetch(url(`${root}/notes%20v1.txt`), {
      method: 'PUT',
      body: 'hello',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(200);
    // MLflow's client sends the guessed MIME type: a JSON file arrives as application/json, stored as bytes.
    const json = await fetch(url(`${root}/metrics.json`), {
      method: 'PUT',
      body: '{"auc": 0.9',
      headers: { 'content-type': 'application/json' },
    });
    expect(json.status).toBe(200);
    expect(await (await fetch(url(`${root}/metrics.json`))).text()).toBe('{"auc": 0.9');
    await fetch(url(`${root}/metrics.json`), { method: 'DELETE' });

    const list = await fetch(`${s.url}/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(root)}`);
    expect(await list.json()).toEqual({
      files: [
        { path: 'model', is_dir: true },
        { path: 'notes v1.txt', is_dir: false, file_size: 5 },
      ],
    });
    const nested = await fetch(
      `${s.url}/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(`${root}/model`)}`,
    );
    expect(await nested.json()).toEqual({ files: [{ path: 'model.onnx', is_dir: false, file_size: 6 }] });

    const got = await fetch(url(`${root}/model/model.onnx`));
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer())).toEqual(bytes);

    // The tracking API's list is relative to the run's artifact root.
    const viaRun = await s.call('GET', `/api/2.0/mlflow/artifacts/list?run_id=${runId}&path=model`);
    expect(viaRun.body).toEqual({
      root_uri: `mlflow-artifacts:/${root}`,
      files: [{ path: 'model/model.onnx', is_dir: false, file_size: 6 }],
    });

    expect((await fetch(url(`${root}/model/model.onnx`), { method: 'DELETE' })).status).toBe(200);
    const gone = await fetch(url(`${root}/model/model.onnx`));
    expect(gone.status).toBe(404);
    expect(await gone.json()).toMatchObject({ error_code: 'RESOURCE_DOES_NOT_EXIST' });
  });

  it.each([['..%2F..%2Fetc%2Fpasswd'], ['a/..%2F..%2F..%2Fsecret'], ['%2Fetc%2Fpasswd']])(
    'refuses the traversal %s',
    async (path) => {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        const res = await fetch(url(path), { method, body: method === 'PUT' ? 'x' : undefined });
        expect(res.status).toBe(400);
        expect(await res.json()).toMatchObject({ error_code: 'INVALID_PARAMETER_VALUE' });
      }
      const list = await fetch(`${s.url}/api/2.0/mlflow-artifacts/artifacts?path=../..`);
      expect(list.status).toBe(400);
    },
  );
});
