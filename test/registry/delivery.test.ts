/**
 * Webhook delivery to a real Fastify receiver on loopback: signed JSON POSTs for the registry's
 * events, retried with backoff after a failure, every attempt in the delivery log.
 */
import { createHmac } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Registry } from '../../src/registry/index.js';
import { signPayload } from '../../src/registry/index.js';
import { writeLogisticModel } from '../helpers/onnx.js';
import { openTestRegistry } from '../helpers/registry.js';
import { tempDir } from '../helpers/tracking.js';

interface Received {
  event: string;
  signature: string | undefined;
  raw: string;
  body: { event: string; data: Record<string, unknown>; delivery_id: string };
}

describe('webhook delivery', () => {
  let receiver: FastifyInstance;
  let url: string;
  const received: Received[] = [];
  let failNext = 0;
  let registry: Registry;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    receiver = Fastify();
    receiver.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) =>
      done(null, body),
    );
    receiver.post('/hook', async (request, reply) => {
      if (failNext > 0) {
        failNext--;
        return reply.status(503).send('busy');
      }
      const raw = request.body as string;
      received.push({
        event: String(request.headers['x-keel-event']),
        signature: request.headers['x-keel-signature'] as string | undefined,
        raw,
        body: JSON.parse(raw),
      });
      return { ok: true };
    });
    url = `${await receiver.listen({ host: '127.0.0.1', port: 0 })}/hook`;
    ({ registry, cleanup } = await openTestRegistry('sqlite', undefined, {
      policy: { productionAlias: 'champion', stages: { Production: { requireApproval: true, gates: [] } } },
    }));
  });
  afterAll(async () => {
    await cleanup();
    await receiver.close();
  });

  it('signs each event with HMAC-SHA256 of the body and retries a failed delivery', async () => {
    const hook = await registry.webhooks.create({
      name: 'ci',
      url,
      secret: 's3cret',
      events: [
        'model_version.created',
        'model_version.stage_changed',
        'model_version_alias.created',
        'approval.requested',
        { entity: 'approval', action: 'given' },
      ],
    });
    await registry.models.create('churn');
    failNext = 2;
    await registry.versions.create({ name: 'churn', source: writeLogisticModel(tempDir()) });
    await registry.dispatcher.flush();
    await registry.setAlias('churn', 'challenger', 1);
    const { request_id } = await registry
      .as({ user: 'alice', role: 'writer' })
      .promote('churn', 1, 'Production');
    await registry.as({ user: 'bob', role: 'approver' }).approve(request_id!);
    await registry.dispatcher.flush();

    // Deliveries of different events run concurrently: their order is not promised.
    expect(received.map((r) => r.event).sort()).toEqual([
      'approval.given',
      'approval.requested',
      'model_version.created',
      'model_version.stage_changed',
      'model_version_alias.created',
    ]);
    const of = (event: string) => received.find((r) => r.event === event)!.body.data;
    for (const r of received) {
      const expected = `sha256=${createHmac('sha256', 's3cret').update(r.raw).digest('hex')}`;
      expect(r.signature).toBe(expected);
      expect(signPayload('s3cret', r.raw)).toBe(expected);
    }
    expect(of('model_version.created')).toMatchObject({ name: 'churn', version: '1' });
    expect(of('model_version.stage_changed')).toMatchObject({
      name: 'churn',
      version: '1',
      from: 'None',
      to: 'Production',
    });
    expect(of('approval.given')).toMatchObject({ approved_by: 'bob' });

    const log = await registry.dispatcher.deliveries(hook.webhook_id);
    const created = log.filter((d) => d.event === 'model_version.created');
    expect(created.map((d) => [d.attempt, d.success, d.status_code])).toEqual([
      [1, false, 503],
      [2, false, 503],
      [3, true, 200],
    ]);
    expect(new Set(created.map((d) => d.delivery_id)).size).toBe(1);
    expect(log.filter((d) => d.success)).toHaveLength(5);
  });

  it('gives up after the last attempt and logs the error; a disabled webhook gets nothing', async () => {
    const dead = await registry.webhooks.create({
      name: 'dead',
      url: 'http://127.0.0.1:9/nothing',
      events: ['model_version.created'],
    });
    await registry.webhooks.update((await registry.webhooks.list()).items[0].webhook_id, {
      status: 'DISABLED',
    });
    const before = received.length;
    await registry.versions.create({ name: 'churn', source: writeLogisticModel(tempDir()) });
    await registry.dispatcher.flush();
    expect(received.length).toBe(before);
    const log = await registry.dispatcher.deliveries(dead.webhook_id);
    expect(log.map((d) => d.attempt)).toEqual([1, 2, 3]);
    expect(log.every((d) => !d.success && typeof d.error === 'string')).toBe(true);
    const test = await registry.dispatcher.test(dead.webhook_id);
    expect(test.success).toBe(false);
  });

  it('validates and manages webhooks', async () => {
    await expect(
      registry.webhooks.create({ name: 'x', url: 'ftp://a', events: ['model_version.created'] }),
    ).rejects.toMatchObject({ code: 'INVALID_PARAMETER_VALUE' });
    await expect(
      registry.webhooks.create({ name: 'x', url, events: ['model.exploded'] }),
    ).rejects.toMatchObject({ code: 'INVALID_PARAMETER_VALUE' });
    const hook = await registry.webhooks.create({ name: 'tmp', url, events: ['model_version.created'] });
    expect(hook).not.toHaveProperty('secret');
    expect((await registry.webhooks.update(hook.webhook_id, { description: 'temp' })).description).toBe(
      'temp',
    );
    await registry.webhooks.delete(hook.webhook_id);
    await expect(registry.webhooks.get(hook.webhook_id)).rejects.toMatchObject({
      code: 'RESOURCE_DOES_NOT_EXIST',
    });
  });
});
