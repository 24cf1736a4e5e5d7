/**
 * @module server/mlflow/webhook-routes
 * MLflow 3's webhook API under `/api/2.0/mlflow/webhooks`: create, list, get, update, delete and
 * send a test event. Changing webhooks is an admin's job (the routes declare `override`): a webhook
 * can carry registry data out.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Registry } from '../../registry/index.js';
import { mlflowErrorHandler } from '../errors.js';
import { R } from './registry-schemas.js';
import { route } from './routes.js';

const byId = z.object({ webhook_id: z.string().min(1) });

export async function mlflowWebhookRoutes(app: FastifyInstance, opts: { registry: Registry }): Promise<void> {
  const { webhooks, dispatcher } = opts.registry;
  app.setErrorHandler(mlflowErrorHandler);

  route(app, 'POST', '/webhooks', 'override', R.createWebhook, async (b) => {
    return { webhook: await webhooks.create(b) };
  });
  route(app, 'GET', '/webhooks', 'read', R.listWebhooks, async (q) => {
    const p = await webhooks.list({ maxResults: q.max_results, pageToken: q.page_token });
    return { webhooks: p.items, ...(p.next_page_token ? { next_page_token: p.next_page_token } : {}) };
  });
  route(app, 'GET', '/webhooks/:webhook_id', 'read', byId, async (q) => ({
    webhook: await webhooks.get(q.webhook_id),
  }));
  route(app, 'PATCH', '/webhooks/:webhook_id', 'override', R.updateWebhook.extend(byId.shape), async (b) => {
    return { webhook: await webhooks.update(b.webhook_id, b) };
  });
  route(app, 'DELETE', '/webhooks/:webhook_id', 'override', byId, async (b) => {
    await webhooks.delete(b.webhook_id);
  });
  route(app, 'POST', '/webhooks/:webhook_id/test', 'override', byId, async (b) => {
    return { result: await dispatcher.test(b.webhook_id) };
  });
}
