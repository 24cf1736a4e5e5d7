/**
 * Registered model files are immutable. The artifact proxy refuses to write or delete under a
 * registered version's folder (for every role, admins included); the version records the sha256
 * of every file of its folder; loading it (serving, batch scoring, the rollback drill, the
 * benchmark) verifies them and refuses a changed, missing or extra file with a clear error.
 */

import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKeelError } from '../../src/core/index.js';
import type { Policy, Registry } from '../../src/registry/index.js';
import { ServingModel } from '../../src/serving/index.js';
import { logisticModelBytes, writeLogisticModel } from '../helpers/onnx.js';
import { openTestRegistry } from '../helpers/registry.js';
import { tempDir } from '../helpers/tracking.js';
import { rawRequest } from './raw-http.js';
import { artifactRoot, securityWorld, type World } from './world.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('the artifact proxy and registered model files', () => {
  let w: World;
  beforeAll(async () => {
    w = await securityWorld('sqlite', undefined, { auth: true });
    await w.registry.promote('churn', 1, 'Production');
  }, 120_000);
  afterAll(async () => w?.close());

  const proxy = (method: string, path: string, token: string, body?: string) =>
    rawRequest(w.url, method, `/api/2.0/mlflow-artifacts/artifacts/${path}`, {
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/octet-stream' }),
      },
      body,
    });

  it("refuses every role's writes and deletes under a registered version's folder, and changes nothing", async () => {
    const before = await w.snapshot();
    for (const role of ['writer', 'approver', 'admin'] as const) {
      const token = w.tokens[role];
      for (const [method, path] of [
        ['PUT', 'models/churn/1/model.onnx'],
        ['PUT', 'models/churn/1/extra.pkl'],
        ['PUT', 'models/churn/1/sub/x'],
        ['PUT', 'models/churn/2/model.onnx'],
        ['DELETE', 'models/churn/1/model.onnx'],
        ['DELETE', 'models/churn/1'],
        ['DELETE', 'models/churn'],
        ['DELETE', 'models'],
        ['PUT', 'models//churn/1/./model.onnx'],
        ['DELETE', 'models/churn/1/'],
      ]) {
        const res = await proxy(method, path, token, method === 'PUT' ? 'swapped' : undefined);
        expect(res.status, `${role} ${method} ${path}: ${res.body}`).toBe(403);
        expect(res.body).toMatch(/registered|registry/);
      }
    }
    expect(await w.snapshot()).toBe(before);
    const served = await proxy('GET', 'models/churn/1/churn.onnx', w.tokens.reader);
    expect(served.status).toBe(200);
  });
});

describe('model version files', () => {
  let registry: Registry;
  let cleanup: () => Promise<void>;
  let root: string;
  const policy: Policy = {
    productionAlias: 'champion',
    stages: { Production: { requireApproval: false, gates: [{ kind: 'rollback_drill' }] } },
  };
  beforeAll(async () => {
    const opened = await openTestRegistry('sqlite', undefined, { policy });
    registry = opened.registry;
    cleanup = opened.cleanup;
    root = artifactRoot(registry.tracking);
    await registry.models.create('churn');
  });
  afterAll(async () => cleanup());

  const register = async (weights: number[]) => {
    const v = await registry.versions.create({
      name: 'churn',
      source: writeLogisticModel(tempDir(), weights),
    });
    return Number(v.version);
  };
  const file = (v: number, name = 'model.onnx') => join(root, 'models', 'churn', String(v), name);

  it('records the sha256 of every file of the version', async () => {
    const v = await register([1, 2, 3]);
    const pkg = await registry.versions.getPackage('churn', v);
    // The ONNX file, and the MLflow model files registration writes beside a bare one.
    expect(Object.keys(pkg.files ?? {})).toEqual([
      'MLmodel',
      'conda.yaml',
      'model.onnx',
      'python_env.yaml',
      'requirements.txt',
    ]);
    expect(pkg.files?.['model.onnx']).toBe(sha256(logisticModelBytes([1, 2, 3])));
    expect(sha256(readFileSync(file(v)))).toBe(pkg.files?.['model.onnx']);
    expect(sha256(readFileSync(file(v, 'MLmodel')))).toBe(pkg.files?.MLmodel);
  });

  it('refuses to load a version whose file was changed, removed or joined by another', async () => {
    const v = await register([1, 0, 0]);
    const uri = `models:/churn/${v}`;
    expect((await registry.resolveModelUri(uri)).version.version).toBe(String(v));
    const original = readFileSync(file(v));

    writeFileSync(file(v), logisticModelBytes([9, 9, 9]));
    const changed = await registry.resolveModelUri(uri).catch((e) => e);
    expect(isKeelError(changed, 'INVALID_STATE')).toBe(true);
    expect(changed.message).toMatch(new RegExp(`version ${v} of 'churn'.*model\\.onnx.*changed`));
    await expect(ServingModel.load(registry, uri)).rejects.toThrow(/changed/);
    await expect(registry.benchmark('churn', v, { iterations: 1 })).rejects.toThrow(/changed/);

    writeFileSync(file(v), original);
    appendFileSync(file(v, 'extra.pkl'), 'pickle');
    await expect(registry.resolveModelUri(uri)).rejects.toThrow(/extra\.pkl.*not registered/);
    rmSync(file(v, 'extra.pkl'));
    rmSync(file(v));
    await expect(registry.resolveModelUri(uri)).rejects.toThrow(/model\.onnx.*missing/);
    writeFileSync(file(v), original);
    expect((await registry.resolveModelUri(uri)).version.version).toBe(String(v));
  });

  it('fails the rollback drill when the version it would restore was changed', async () => {
    const old = await register([0.5, 0.5, 0.5]);
    await registry.promote('churn', old, 'Production');
    const next = await register([0.1, 0.2, 0.3]);
    const original = readFileSync(file(old));
    writeFileSync(file(old), logisticModelBytes([7, 7, 7]));
    const refused = await registry.promote('churn', next, 'Production').catch((e) => e);
    expect(isKeelError(refused, 'FAILED_PRECONDITION')).toBe(true);
    expect(JSON.stringify(refused.details.gates)).toMatch(/changed/);
    writeFileSync(file(old), original);
    expect((await registry.promote('churn', next, 'Production')).status).toBe('promoted');
  });

  it('records the files of versions registered before manifests existed, on the next open', async () => {
    const v = await register([3, 2, 1]);
    await registry.tracking.db.run('UPDATE model_versions SET files = NULL WHERE name = ? AND version = ?', [
      'churn',
      v,
    ]);
    expect((await registry.versions.getPackage('churn', v)).files).toBeUndefined();
    await expect(registry.resolveModelUri(`models:/churn/${v}`)).rejects.toThrow(/no record of its files/);
    await registry.init();
    expect((await registry.versions.getPackage('churn', v)).files).toMatchObject({
      'model.onnx': sha256(logisticModelBytes([3, 2, 1])),
      MLmodel: sha256(readFileSync(file(v, 'MLmodel'))),
    });
    const audit = await registry.audit.list('churn');
    expect(audit.filter((e) => e.action === 'files_recorded')).toMatchObject([{ version: String(v) }]);
  });
});
