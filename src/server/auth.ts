/**
 * @module server/auth
 * `keel serve --auth`: every route but the health checks (`/health`, `/ready`, `/ping`, `/v2/health/*`, which
 * probes call without tokens) needs `Authorization: Bearer <token>`; the token's role is checked on
 * every write. Reads are GET and HEAD, plus the POST routes that only search or score (MLflow's
 * clients POST their searches; scoring writes nothing). Finer checks (approve, override) happen in
 * the registry.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { KeelError } from '../core/index.js';
import { type Actor, type Registry, requirePermission } from '../registry/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; undefined when auth is off (the server acts as its own user). */
    actor?: Actor;
  }
}

// Feature reads and predictions are POSTs too (they send entities or rows in the body).
const READ_ONLY_POST =
  /\/(search|get-latest-versions|get-online-features|online-features|invocations|predict|infer)$/;
const HEALTH = new Set(['/health', '/ready', '/ping', '/v2/health/live', '/v2/health/ready']);

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m) throw new KeelError('UNAUTHENTICATED', "The Authorization header must be 'Bearer <token>'");
  return m[1];
}

/** Whether a request only reads: GET/HEAD, and the POSTs that search, read features or score. */
export const isReadRequest = (method: string, path: string): boolean =>
  method === 'GET' || method === 'HEAD' || (method === 'POST' && READ_ONLY_POST.test(path));

/** Adds the authentication hook to the root app. */
export function enableAuth(app: FastifyInstance, registry: Registry): void {
  app.addHook('onRequest', async (request) => {
    const path = request.url.split('?')[0];
    if (HEALTH.has(path)) return;
    const actor = await registry.tokens.authenticate(bearer(request));
    request.actor = actor;
    if (!isReadRequest(request.method, path)) requirePermission(actor, 'write', `${request.method} ${path}`);
  });
}
