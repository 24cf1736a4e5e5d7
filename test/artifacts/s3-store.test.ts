/**
 * The S3 store: the shared contract against an S3 protocol server on loopback
 * (test/helpers/s3-server.ts), and what only S3 has: keys under the prefix, listings longer than
 * one page, credentials from the AWS environment variables, and a clear error when S3 refuses.
 */
import { writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { S3ArtifactStore } from '../../src/artifacts/index.js';
import { loadConfig, type S3ArtifactsConfig, s3Url } from '../../src/core/index.js';
import { runProcess } from '../helpers/cli.js';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.js';
import { tempDir } from '../helpers/temp.js';
import { artifactStoreContract } from './store.contract.js';

let server: TestS3Server;
beforeAll(async () => {
  server = await startS3Server();
  // The store takes its credentials from the SDK's chain, as `keel serve` does.
  for (const [k, v] of Object.entries(server.env)) vi.stubEnv(k, v);
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await server.close();
});

const openStore = (prefix = `p${Math.random().toString(36).slice(2, 8)}/artifacts`) =>
  new S3ArtifactStore({
    bucket: 'keel-test',
    prefix,
    endpoint: server.endpoint,
    forcePathStyle: true,
    cacheDir: tempDir(),
  });

artifactStoreContract('S3', async () => {
  const store = openStore();
  return { store, cleanup: async () => store.close() };
});

describe('S3 artifact store', () => {
  it('keeps every artifact under its prefix, as plain object keys', async () => {
    const store = openStore('team a/keel');
    await store.put('runs/1/model/MLmodel', 'm');
    await store.put('runs/1/model/model.onnx', 'o');
    const keys = [...server.buckets.get('keel-test')!.keys()].filter((k) => k.startsWith('team a/'));
    expect(keys.sort()).toEqual(['team a/keel/runs/1/model/MLmodel', 'team a/keel/runs/1/model/model.onnx']);
    store.close();
  });

  it('sends a stream with its length, in the aws-chunked encoding with a trailing checksum', async () => {
    const store = openStore();
    const chunked = server.operations.get('aws-chunked') ?? 0;
    await store.put('s/x.bin', Readable.from([Buffer.from('abc'), Buffer.from('def')]));
    expect(server.operations.get('aws-chunked') ?? 0).toBe(chunked + 1);
    const key = [...server.buckets.get('keel-test')!.keys()].find((k) => k.endsWith('/s/x.bin'))!;
    expect(server.buckets.get('keel-test')!.get(key)!.body.toString()).toBe('abcdef');
    store.close();
  });

  it('lists, digests and deletes folders of more than one page of keys', async () => {
    const store = openStore();
    await store.put('big/seed', 's');
    // Over 1,000 keys (S3's page) in each listing: 2,102 objects, three DeleteObjects batches.
    const objects = server.buckets.get('keel-test')!;
    const seed = [...objects.entries()].find(([k]) => k.endsWith('/big/seed'))!;
    const base = seed[0].slice(0, -'seed'.length);
    for (let i = 0; i < 1100; i++) objects.set(`${base}f/${String(i).padStart(4, '0')}`, seed[1]);
    for (let i = 0; i < 1001; i++) objects.set(`${base}d${String(i).padStart(4, '0')}/x`, seed[1]);
    const listed = await store.list('big');
    expect(listed.filter((e) => e.isDir)).toHaveLength(1002); // d0000..d1000 and f
    expect(listed.filter((e) => !e.isDir).map((e) => e.path)).toEqual(['seed']);
    expect(await store.list('big/f')).toHaveLength(1100);
    expect(Object.keys(await store.digest('big/f'))).toHaveLength(1100);
    const before = server.operations.get('DeleteObjects') ?? 0;
    await store.delete('big');
    expect((server.operations.get('DeleteObjects') ?? 0) - before).toBe(3);
    expect([...objects.keys()].filter((k) => k.startsWith(base))).toEqual([]);
    store.close();
  });

  it('reports refused credentials as the S3 error, not a missing file', async () => {
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'not-the-secret');
    const store = openStore();
    try {
      await expect(store.get('x/y.txt')).rejects.toMatchObject({
        code: 'TEMPORARILY_UNAVAILABLE',
        message: expect.stringMatching(/S3 artifact store s3:\/\/keel-test\/.*SignatureDoesNotMatch/),
      });
      await expect(store.put('x/y.txt', 'y')).rejects.toMatchObject({ code: 'TEMPORARILY_UNAVAILABLE' });
    } finally {
      vi.stubEnv('AWS_SECRET_ACCESS_KEY', server.secretAccessKey);
      store.close();
    }
  });

  it('says a missing bucket is missing, not a file', async () => {
    const store = new S3ArtifactStore({
      bucket: 'no-such-bucket',
      prefix: '',
      endpoint: server.endpoint,
      forcePathStyle: true,
      cacheDir: tempDir(),
    });
    for (const op of [
      () => store.get('a.txt'),
      () => store.kind('a'),
      () => store.list(''),
      () => store.put('a', 'x'),
    ])
      await expect(op()).rejects.toMatchObject({
        code: 'FAILED_PRECONDITION',
        message: expect.stringContaining("bucket 'no-such-bucket' does not exist"),
      });
    store.close();
  });

  it('is chosen by keel.yaml or by an s3:// KEEL_ARTIFACTS', async () => {
    const dir = tempDir();
    writeFileSync(
      `${dir}/keel.yaml`,
      `artifacts: { type: s3, bucket: keel-test, prefix: ml/prod, endpoint: "${server.endpoint}", forcePathStyle: true }\n`,
    );
    const fromFile = loadConfig({ cwd: dir, env: {} });
    expect(fromFile.artifacts).toEqual({
      type: 's3',
      bucket: 'keel-test',
      prefix: 'ml/prod',
      endpoint: server.endpoint,
      forcePathStyle: true,
    });
    const fromEnv = loadConfig({
      cwd: tempDir(),
      env: {
        KEEL_ARTIFACTS: `s3://keel-test/ml/prod?endpoint=${encodeURIComponent(server.endpoint)}&forcePathStyle=true`,
      },
    });
    expect(fromEnv.artifacts).toEqual(fromFile.artifacts);
    // A child process (a retraining recipe) gets the parent's store as one s3:// URL.
    const spaced = { ...fromFile.artifacts, prefix: 'team a/ml+x', region: 'eu-west-3' } as S3ArtifactsConfig;
    expect(loadConfig({ cwd: tempDir(), env: { KEEL_ARTIFACTS: s3Url(spaced) } }).artifacts).toEqual(spaced);
    writeFileSync(`${dir}/keel.yaml`, 'artifacts: { type: s3, bucket: "Bad_Bucket" }\n');
    expect(() => loadConfig({ cwd: dir, env: {} })).toThrow(/bucket/);
    expect(() =>
      loadConfig({ cwd: tempDir(), env: { KEEL_ARTIFACTS: 's3://keel-test/x?color=red' } }),
    ).toThrow(/unknown setting color/);
  });

  it('loads the AWS SDK only when an S3 store is made', async () => {
    // A fresh process: the artifact stores imported (as `keel serve` does), then an S3 store made.
    const script = `
      import { createRequire } from 'node:module';
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('@aws-sdk/client-s3'));
      const { S3ArtifactStore } = await import(${JSON.stringify(new URL('../../src/artifacts/index.ts', import.meta.url).href)});
      const before = loaded();
      new S3ArtifactStore({ bucket: 'b', cacheDir: '/tmp' });
      console.log(JSON.stringify({ before, after: loaded() }));`;
    const run = await runProcess(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: process.cwd(),
    });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ before: false, after: true });
  });
});
