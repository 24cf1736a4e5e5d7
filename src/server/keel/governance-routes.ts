/**
 * @module server/keel/governance-routes
 * Keel's governance API under `/api/2.0/keel/registry`: what MLflow has no route for. Promotion
 * with gate results, approvals, rollback, the pending requests and the audit log. A refused
 * promotion answers 409 with every gate's result in `gates`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { KeelError } from '../../core/index.js';
import type { Registry } from '../../registry/index.js';
import { keelErrorHandler } from '../errors.js';
import { registryFor } from '../mlflow/registry-routes.js';
import { R } from '../mlflow/registry-schemas.js';
import { route } from '../mlflow/routes.js';

function governanceErrorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (err instanceof KeelError && err.code === 'FAILED_PRECONDITION' && err.details?.gates) {
    return reply
      .status(err.status)
      .send({ error_code: err.code, message: err.message, gates: err.details.gates });
  }
  return keelErrorHandler(err, request, reply);
}

export async function governanceRoutes(app: FastifyInstance, opts: { registry: Registry }): Promise<void> {
  const as = (request: FastifyRequest) => registryFor(opts.registry, request);
  app.setErrorHandler(governanceErrorHandler);

  route(app, 'POST', '/promote', 'write', R.promote, (b, req) =>
    as(req).promote(b.name, b.version, b.stage, {
      archiveExisting: b.archive_existing_versions,
      override: b.override,
      reason: b.reason,
    }),
  );
  route(app, 'POST', '/approve', 'approve', R.decide, (b, req) => as(req).approve(b.request_id, b.reason));
  route(app, 'POST', '/reject', 'approve', R.decide, async (b, req) => {
    await as(req).promotions.reject(b.request_id, b.reason);
  });
  route(app, 'POST', '/rollback', 'write', R.rollback, (b, req) => as(req).rollback(b.name, b.reason));
  route(app, 'GET', '/requests', 'read', R.requests, async (q, req) => ({
    requests: await as(req).promotions.requests(q.name, q.status),
  }));
  route(app, 'GET', '/audit', 'read', z.object({ name: z.string().min(1) }), async (q, req) => ({
    entries: await as(req).audit.list(q.name),
  }));
}
