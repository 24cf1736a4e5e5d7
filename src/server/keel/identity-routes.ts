/**
 * @module server/keel/identity-routes
 * `GET /api/2.0/keel/whoami`: who the caller is and what its role lets it do, so a client (the web
 * UI) shows only the actions the server would accept: a reader sees no approve button. Without
 * `--auth` the server acts as its own user, an admin.
 */
import type { FastifyInstance } from 'fastify';
import { can, type Permission, type Registry } from '../../registry/index.js';
import { mlflowErrorHandler } from '../errors.js';
import { registryFor } from '../mlflow/registry-routes.js';

const PERMISSIONS: readonly Permission[] = ['read', 'write', 'approve', 'override'];

export async function identityRoutes(
  app: FastifyInstance,
  opts: { registry: Registry; auth: boolean },
): Promise<void> {
  app.setErrorHandler(mlflowErrorHandler);
  app.get('/whoami', { config: { permission: 'read' } }, async (request) => {
    const { actor } = registryFor(opts.registry, request);
    return {
      user: actor.user,
      role: actor.role,
      auth: opts.auth,
      permissions: PERMISSIONS.filter((p) => can(actor, p)),
    };
  });
}
