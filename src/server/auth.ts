/**
 * @module server/auth
 * `keel serve --auth`: every route needs `Authorization: Bearer <token>` with a role that grants
 * the permission the route declares (`config.permission`, see server/route-table), except the
 * routes declared `public` (the health checks that probes call without tokens). The decision
 * reads the matched route's declaration, never the URL text: the router already resolved
 * fragments, encodings and trailing slashes, so whatever route runs is the route whose rule was
 * checked. A matched route without a declaration is refused. A URL no route matches needs a
 * valid token too, so an anonymous caller learns nothing (401) and a caller with a token gets the
 * 404. Finer checks (approvals, overrides, protected versions) happen in the registry.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { KeelError } from '../core/index.js';
import { type Actor, type Registry, requirePermission } from '../registry/index.js';
import { isRoutePermission } from './route-table.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; undefined when auth is off (the server acts as its own user). */
    actor?: Actor;
  }
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m) throw new KeelError('UNAUTHENTICATED', "The Authorization header must be 'Bearer <token>'");
  return m[1];
}

/** Adds the authentication hook to the root app. */
export function enableAuth(app: FastifyInstance, registry: Pick<Registry, 'tokens'>): void {
  app.addHook('onRequest', async (request) => {
    if (request.is404) {
      request.actor = await registry.tokens.authenticate(bearer(request));
      return;
    }
    const { permission, url } = request.routeOptions.config;
    if (!isRoutePermission(permission)) {
      request.log.error({ route: url }, 'route without a permission declaration refused');
      throw new KeelError('PERMISSION_DENIED', `Route ${request.method} ${url} declares no permission`);
    }
    if (permission === 'public') return;
    const actor = await registry.tokens.authenticate(bearer(request));
    request.actor = actor;
    requirePermission(actor, permission, `${request.method} ${url}`);
  });
}
