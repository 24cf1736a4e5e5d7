/**
 * Governance covers the way down: with a writer's token, moving the Production version out of
 * Production, deleting a version or model that holds Production or a protected alias, moving a
 * protected alias and deleting a model's files are refused; an approver may; each step is
 * audited, applied or refused. What each step needs is set in keel.yaml's `governance.protection`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKeelError } from '../../src/core/index.js';
import { type Policy, parsePolicy, protectionOf, Registry } from '../../src/registry/index.js';
import { writeLogisticModel } from '../helpers/onnx.js';
import { tempDir } from '../helpers/tracking.js';
import { rawRequest } from './raw-http.js';
import { securityWorld, type World } from './world.js';

const POLICY: Policy = {
  productionAlias: 'champion',
  stages: {},
  protection: { aliases: ['challenger'] } as Policy['protection'],
};

describe('governance of the way down, over HTTP', () => {
  let w: World;
  const call = async (role: 'writer' | 'approver', method: string, path: string, body?: unknown) => {
    const res = await rawRequest(w.url, method, path, {
      headers: {
        authorization: `Bearer ${w.tokens[role]}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: JSON.parse(res.body || '{}') as Record<string, string> };
  };
  const api = (p: string) => `/api/2.0/mlflow/${p}`;
  const refusals = async (action: string) =>
    (await w.registry.audit.list('churn')).filter((e) => e.action === action && e.outcome === 'refused');

  beforeAll(async () => {
    w = await securityWorld('sqlite', undefined, { auth: true, policy: POLICY });
    await w.registry.promote('churn', 1, 'Production');
    const file = writeLogisticModel(tempDir(), [0, 0, 1]);
    await w.registry.versions.create({ name: 'churn', source: file });
    await w.registry.setAlias('churn', 'challenger', 2);
  }, 120_000);
  afterAll(async () => w?.close());

  it('refuses a writer, audits the refusal, and changes nothing', async () => {
    const before = await w.snapshot();
    const archive = await call('writer', 'POST', api('model-versions/transition-stage'), {
      name: 'churn',
      version: '1',
      stage: 'Archived',
    });
    expect(archive.status).toBe(403);
    expect(archive.body.message).toMatch(/out of Production.*protection\.leaveProduction.*'approver'/);
    for (const [method, path, body] of [
      ['DELETE', 'model-versions/delete', { name: 'churn', version: '1' }],
      ['DELETE', 'model-versions/delete', { name: 'churn', version: '2' }],
      ['DELETE', 'registered-models/delete', { name: 'churn' }],
      ['POST', 'registered-models/alias', { name: 'churn', alias: 'challenger', version: '1' }],
      ['DELETE', 'registered-models/alias', { name: 'churn', alias: 'challenger' }],
    ] as const) {
      const res = await call('writer', method, api(path), body);
      expect(res.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(403);
      expect(res.body.message).toMatch(/protection\.deleteProtected/);
    }
    const promote = await call('writer', 'POST', '/api/2.0/keel/registry/promote', {
      name: 'churn',
      version: '1',
      stage: 'Staging',
    });
    expect(promote.status).toBe(403);
    const audit = await w.snapshot();
    expect(JSON.parse(audit).files).toEqual(JSON.parse(before).files);
    expect(await refusals('promote')).toHaveLength(2);
    expect(await refusals('delete_version')).toMatchObject([
      { actor: 'writer-user', version: '1' },
      { actor: 'writer-user', version: '2' },
    ]);
    expect(await refusals('delete_model')).toHaveLength(1);
    expect((await refusals('alias_set')).length + (await refusals('alias_delete')).length).toBe(2);
    expect((await w.registry.versions.get('churn', 1)).current_stage).toBe('Production');
  });

  it("lets an approver take those steps, audited under the approver's name", async () => {
    const moved = await call('approver', 'POST', api('registered-models/alias'), {
      name: 'churn',
      alias: 'challenger',
      version: '1',
    });
    expect(moved.status).toBe(200);
    const archived = await call('approver', 'POST', api('model-versions/transition-stage'), {
      name: 'churn',
      version: '1',
      stage: 'Archived',
    });
    expect(archived.status).toBe(200);
    expect((await w.registry.versions.get('churn', 1)).current_stage).toBe('Archived');
    const entries = await w.registry.audit.list('churn');
    expect(entries.filter((e) => e.action === 'promote' && e.outcome === 'applied').at(-1)).toMatchObject({
      actor: 'approver-user',
      from: 'Production',
      to: 'Archived',
    });
  });

  it("needs an approver to delete a model's files that no version holds, and audits it", async () => {
    const deleted = await call('approver', 'DELETE', api('model-versions/delete'), {
      name: 'churn',
      version: '2',
    });
    expect(deleted.status).toBe(200);
    const files = '/api/2.0/mlflow-artifacts/artifacts/models/churn/2';
    const byWriter = await call('writer', 'DELETE', files);
    expect(byWriter.status).toBe(403);
    expect(byWriter.body.message).toMatch(/protection\.deleteFiles/);
    expect(await w.tracking.artifacts.kind('models/churn/2')).toBe('folder');
    expect(await refusals('delete_files')).toMatchObject([{ actor: 'writer-user', from: 'models/churn/2' }]);
    expect((await call('approver', 'DELETE', files)).status).toBe(200);
    expect(await w.tracking.artifacts.kind('models/churn/2')).toBeUndefined();
    const applied = (await w.registry.audit.list('churn')).filter(
      (e) => e.action === 'delete_files' && e.outcome === 'applied',
    );
    expect(applied).toMatchObject([{ actor: 'approver-user', from: 'models/churn/2' }]);
    // Version 1 still holds its folder: nobody deletes it.
    expect(
      (await call('approver', 'DELETE', '/api/2.0/mlflow-artifacts/artifacts/models/churn/1')).status,
    ).toBe(403);
  });
});

describe('governance.protection in keel.yaml', () => {
  it('defaults to approvers for the way down and writers for rollbacks', () => {
    expect(protectionOf(parsePolicy({ stages: {} }))).toEqual({
      leaveProduction: 'approve',
      deleteProtected: 'approve',
      deleteFiles: 'approve',
      rollback: 'write',
      aliases: [],
    });
  });

  it('names a bad setting', () => {
    expect(() => parsePolicy({ protection: { leaveProduction: 'root' } })).toThrow(
      /protection\.leaveProduction/,
    );
    expect(() => parsePolicy({ protection: { deleteEverything: 'write' } })).toThrow(/deleteEverything/);
  });

  it('lets a writer archive Production and needs an approver to roll back when the policy says so', async () => {
    const w = await securityWorld('sqlite', undefined, {
      policy: parsePolicy({ stages: {}, protection: { leaveProduction: 'write', rollback: 'approve' } }),
    });
    try {
      const writer = new Registry(w.tracking, {
        policy: w.registry.policy,
        actor: { user: 'wes', role: 'writer' },
      });
      await w.registry.promote('churn', 1, 'Production');
      const v2 = await w.registry.versions.create({ name: 'churn', source: writeLogisticModel(tempDir()) });
      await w.registry.promote('churn', v2.version, 'Production');
      const refused = await writer.rollback('churn').catch((e) => e);
      expect(isKeelError(refused, 'PERMISSION_DENIED')).toBe(true);
      expect(refused.message).toMatch(/protection\.rollback/);
      expect((await writer.promote('churn', v2.version, 'Archived')).status).toBe('promoted');
    } finally {
      await w.close();
    }
  });
});
