/**
 * `keel serve --auth`: bearer tokens on every route but /health, roles checked on writes, and
 * approvals only by a different user with the approver role, over a real loopback server. Every
 * route's declared permission, and the attempts to get around it, are in test/security.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Policy } from '../../src/registry/index.js';
import { writeLogisticModel } from '../helpers/onnx.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { tempDir } from '../helpers/tracking.js';

const APPROVAL: Policy = {
  productionAlias: 'champion',
  stages: { Production: { requireApproval: true, gates: [{ kind: 'rollback_drill' }] } },
};

describe('serve --auth', () => {
  let s: TestServer;
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    s = await startTestServer('sqlite', undefined, undefined, { auth: true, policy: APPROVAL });
    for (const [user, role] of [
      ['rita', 'reader'],
      ['alice', 'writer'],
      ['bob', 'approver'],
      ['dana', 'admin'],
    ]) {
      const created = await s.registry.tokens.create(user, role);
      expect(created.token).toMatch(/^keel_[0-9a-f]{64}$/);
      tokens[role] = created.token;
    }
  });
  afterAll(async () => s.close());

  const api = (path: string) => `/api/2.0/mlflow/${path}`;

  it('needs no token for /health and a valid token for everything else', async () => {
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
    const noToken = await s.call('GET', `${api('registered-models/search')}`);
    expect(noToken).toMatchObject({ status: 401, body: { error_code: 'UNAUTHENTICATED' } });
    const badToken = await s.call('GET', api('registered-models/search'), undefined, 'keel_nope');
    expect(badToken.status).toBe(401);
    const noWrite = await s.call('POST', api('registered-models/create'), { name: 'churn' });
    expect(noWrite.status).toBe(401);
    const noRun = await s.call('POST', api('runs/create'), { experiment_id: '0' });
    expect(noRun.status).toBe(401);
    expect((await s.registry.models.search()).items).toEqual([]);
  });

  it("serves /metrics to a reader's token only, and takes /feedback labels as a write", async () => {
    expect((await fetch(`${s.url}/metrics`)).status).toBe(401);
    const res = await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${tokens.reader}` } });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/^# HELP keel_http_requests_total /m);
  });

  it('lets a reader read and search but not write', async () => {
    expect((await s.call('GET', api('registered-models/search'), undefined, tokens.reader)).status).toBe(200);
    expect((await s.call('POST', api('runs/search'), { experiment_ids: ['0'] }, tokens.reader)).status).toBe(
      200,
    );
    const write = await s.call('POST', api('registered-models/create'), { name: 'churn' }, tokens.reader);
    expect(write).toMatchObject({ status: 403, body: { error_code: 'PERMISSION_DENIED' } });
    expect(write.body.message).toContain('rita');
  });

  it('lets a writer register and request promotion, but only a different approver approves', async () => {
    expect(
      (await s.call('POST', api('registered-models/create'), { name: 'churn' }, tokens.writer)).status,
    ).toBe(200);
    const file = writeLogisticModel(tempDir());
    await s.registry.versions.create({ name: 'churn', source: file });
    const mv = await s.call(
      'POST',
      api('model-versions/create'),
      { name: 'churn', source: 'mlflow-artifacts:/models/churn/1/model.onnx' },
      tokens.writer,
    );
    expect(mv.body.model_version).toMatchObject({ version: '2', user_id: 'alice' });

    const viaMlflow = await s.call(
      'POST',
      api('model-versions/transition-stage'),
      { name: 'churn', version: '2', stage: 'Production', archive_existing_versions: true },
      tokens.writer,
    );
    // MLflow's client knows INVALID_STATE; Keel's own route would answer FAILED_PRECONDITION.
    expect(viaMlflow).toMatchObject({ status: 400, body: { error_code: 'INVALID_STATE' } });
    const requests = await s.call(
      'GET',
      '/api/2.0/keel/registry/requests?name=churn&status=pending',
      undefined,
      tokens.reader,
    );
    const [request] = requests.body.requests as Array<{ id: number; requested_by: string }>;
    expect(request.requested_by).toBe('alice');

    const byWriter = await s.call(
      'POST',
      '/api/2.0/keel/registry/approve',
      { request_id: request.id },
      tokens.writer,
    );
    expect(byWriter).toMatchObject({ status: 403, body: { error_code: 'PERMISSION_DENIED' } });
    expect((await s.registry.versions.get('churn', 2)).current_stage).toBe('None');
    const byApprover = await s.call(
      'POST',
      '/api/2.0/keel/registry/approve',
      { request_id: request.id, reason: 'ok' },
      tokens.approver,
    );
    expect(byApprover).toMatchObject({
      status: 200,
      body: { status: 'promoted', version: '2', to: 'Production' },
    });
    const audit = await s.call('GET', '/api/2.0/keel/registry/audit?name=churn', undefined, tokens.reader);
    expect(
      (audit.body.entries as Array<{ action: string; actor: string }>).filter((e) => e.action === 'approve'),
    ).toMatchObject([{ actor: 'bob' }]);
  });

  it('keeps webhooks to admins', async () => {
    const hook = { name: 'ci', url: 'http://127.0.0.1:9/hook', events: ['model_version.created'] };
    expect((await s.call('POST', api('webhooks'), hook, tokens.writer)).status).toBe(403);
    const created = await s.call('POST', api('webhooks'), hook, tokens.admin);
    expect(created.body.webhook).toMatchObject({
      name: 'ci',
      events: [{ entity: 'model_version', action: 'created' }],
      status: 'ACTIVE',
    });
  });
});
