/**
 * The server on an S3 artifact store (an S3 protocol server on loopback): the MLflow artifact proxy
 * uploads, lists, downloads and deletes objects under the store's prefix with `mlflow-artifacts:`
 * URIs unchanged; a version registered from a run is copied into `models/<name>/<version>/` in the
 * bucket, its files stay immutable through the proxy, and a file changed in the bucket behind
 * Keel's back is refused at load by its sha256.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { S3ArtifactStore } from '../../src/artifacts/index.js';
import { logisticModelBytes } from '../helpers/onnx.js';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { tempDir } from '../helpers/temp.js';
import { trainedRun } from '../registry/fixtures.js';

const PREFIX = 'mlops/keel';

describe('MLflow artifact proxy and registry on S3', () => {
  let s3: TestS3Server;
  let s: TestServer;
  let root: string;
  let runId: string;
  const objects = () => s3.buckets.get('keel-test')!;
  const keysUnder = (path: string) =>
    [...objects().keys()]
      .filter((k) => k.startsWith(`${PREFIX}/${path}/`))
      .map((k) => k.slice(`${PREFIX}/${path}/`.length))
      .sort();
  const url = (path: string) => `${s.url}/api/2.0/mlflow-artifacts/artifacts/${path}`;
  const api = (path: string) => `/api/2.0/mlflow/${path}`;

  beforeAll(async () => {
    s3 = await startS3Server();
    for (const [k, v] of Object.entries(s3.env)) vi.stubEnv(k, v);
    const artifacts = new S3ArtifactStore({
      bucket: 'keel-test',
      prefix: PREFIX,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      cacheDir: tempDir(),
    });
    s = await startTestServer('sqlite', undefined, undefined, { artifacts });
    const { body } = await s.call('POST', api('runs/create'), { experiment_id: '0' });
    root = (body.run as { info: { artifact_uri: string } }).info.artifact_uri.replace(
      'mlflow-artifacts:/',
      '',
    );
    runId = await trainedRun(s.tracking);
  });
  afterAll(async () => {
    await s?.close();
    s?.tracking.artifacts.close();
    await s3?.close();
    vi.unstubAllEnvs();
  });

  it('uploads, lists, downloads and deletes through the proxy, as objects under the prefix', async () => {
    const bytes = Buffer.from(logisticModelBytes([1, 2, 3]));
    expect((await fetch(url(`${root}/model/model.onnx`), { method: 'PUT', body: bytes })).status).toBe(200);
    expect((await fetch(url(`${root}/notes%20v1.txt`), { method: 'PUT', body: 'hello' })).status).toBe(200);
    expect(keysUnder(root)).toEqual(['model/model.onnx', 'notes v1.txt']);

    const list = await fetch(`${s.url}/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(root)}`);
    expect(await list.json()).toEqual({
      files: [
        { path: 'model', is_dir: true },
        { path: 'notes v1.txt', is_dir: false, file_size: 5 },
      ],
    });
    const got = await fetch(url(`${root}/model/model.onnx`));
    expect(got.status).toBe(200);
    expect(got.headers.get('content-length')).toBe(String(bytes.length));
    expect(Buffer.from(await got.arrayBuffer())).toEqual(bytes);

    expect((await fetch(url(`${root}/notes%20v1.txt`), { method: 'DELETE' })).status).toBe(200);
    expect(keysUnder(root)).toEqual(['model/model.onnx']);
    const gone = await fetch(url(`${root}/notes%20v1.txt`));
    expect(gone.status).toBe(404);
    expect(await gone.json()).toMatchObject({ error_code: 'RESOURCE_DOES_NOT_EXIST' });
    const traversal = await fetch(url('..%2F..%2Fetc%2Fpasswd'));
    expect(traversal.status).toBe(400);
  });

  it('registers a version from a run into models/<name>/<version>/ of the bucket, immutable through the proxy', async () => {
    expect((await s.call('POST', api('registered-models/create'), { name: 'churn' })).status).toBe(200);
    const mv = await s.call('POST', api('model-versions/create'), {
      name: 'churn',
      source: `runs:/${runId}/model`,
      run_id: runId,
    });
    expect(mv.status).toBe(200);
    expect(mv.body.model_version).toMatchObject({ version: '1', status: 'READY' });
    // The run's ONNX file, made an MLflow model as on the local store; no staging folder is left.
    const files = keysUnder('models/churn/1');
    expect(files).toContain('model.onnx');
    expect(files).toContain('MLmodel');
    expect(keysUnder('models/churn').filter((k) => k.startsWith('.upload-'))).toEqual([]);
    const uri = await s.call('GET', `${api('model-versions/get-download-uri')}?name=churn&version=1`);
    expect(uri.body).toEqual({ artifact_uri: 'mlflow-artifacts:/models/churn/1' });
    const download = await fetch(url('models/churn/1/model.onnx'));
    expect(Buffer.from(await download.arrayBuffer())).toEqual(
      objects().get(`${PREFIX}/models/churn/1/model.onnx`)!.body,
    );

    for (const method of ['PUT', 'DELETE']) {
      const res = await fetch(url('models/churn/1/model.onnx'), {
        method,
        body: method === 'PUT' ? 'x' : undefined,
      });
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ error_code: 'PERMISSION_DENIED' });
    }

    // Loading hands ONNX Runtime a local copy of the verified file.
    const resolved = await s.registry.resolveModelUri('models:/churn/1');
    expect(readFileSync(resolved.modelFile)).toEqual(
      objects().get(`${PREFIX}/models/churn/1/model.onnx`)!.body,
    );
  });

  it('refuses to load a version whose file was changed in the bucket, or that gained one', async () => {
    const key = `${PREFIX}/models/churn/1/model.onnx`;
    const original = objects().get(key)!;
    objects().set(key, { ...original, body: Buffer.from(logisticModelBytes([9, 9, 9])) });
    await expect(s.registry.resolveModelUri('models:/churn/1')).rejects.toMatchObject({
      code: 'INVALID_STATE',
      message: expect.stringContaining('model.onnx changed'),
    });
    objects().set(key, original);
    objects().set(`${PREFIX}/models/churn/1/extra.py`, { ...original, body: Buffer.from('import os') });
    await expect(s.registry.resolveModelUri('models:/churn/1')).rejects.toMatchObject({
      code: 'INVALID_STATE',
      message: expect.stringContaining('extra.py is not registered'),
    });
    objects().delete(`${PREFIX}/models/churn/1/extra.py`);
    await expect(s.registry.resolveModelUri('models:/churn/1')).resolves.toMatchObject({
      version: { version: '1' },
    });
  });
});
