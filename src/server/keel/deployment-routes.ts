/**
 * @module server/keel/deployment-routes
 * `GET /api/2.0/keel/serving/deployments?model=M[&minutes=N]`: how a registered model is served,
 * for the web UI's model page. What this server serves of it (the primary version, the canary's
 * version and share, the shadow), and every server's request figures for each version over the
 * last N minutes (default 60): requests, failures, error rate and latency quantiles.
 *
 * The figures are read from the metadata database, where each server writes its minutes every
 * 10 s; this server's own minutes are written first, so they are current here.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseInput } from '../../core/index.js';
import { type RequestFigures, serviceFigures } from '../../monitoring/index.js';
import type { Registry } from '../../registry/index.js';
import type { ModelServer } from '../../serving/index.js';
import { mlflowErrorHandler } from '../errors.js';

const MINUTE = 60_000;

const deploymentsQuery = z.object({
  model: z.string().min(1, 'model is required'),
  minutes: z.coerce
    .number({ message: 'minutes must be a number' })
    .int()
    .min(1)
    .max(7 * 24 * 60)
    .default(60),
});

export async function deploymentRoutes(
  app: FastifyInstance,
  opts: { registry: Registry; serving?: ModelServer; figures?: RequestFigures },
): Promise<void> {
  const { registry, serving, figures } = opts;
  app.setErrorHandler(mlflowErrorHandler);
  app.get('/serving/deployments', { config: { permission: 'read' } }, async (request) => {
    const q = parseInput(deploymentsQuery, request.query ?? {}, 'request to /serving/deployments');
    // An unknown model is RESOURCE_DOES_NOT_EXIST (404), served here or not.
    await registry.models.get(q.model);
    // A failed write is retried by the next one: it only leaves this server's latest minutes out.
    await figures?.flush().catch(() => undefined);
    const served = serving?.list().find((m) => m.name === q.model);
    // Whole minutes, the current one included.
    const to = Math.floor(Date.now() / MINUTE) * MINUTE + MINUTE;
    const from = to - q.minutes * MINUTE;
    return {
      model: q.model,
      served: served
        ? {
            version: served.version,
            uri: served.uri,
            follows: served.follows,
            ...(served.canary
              ? {
                  canary: {
                    uri: served.canary.uri,
                    version: served.canary.version,
                    percent: served.canary.percent,
                    sticky: served.canary.sticky,
                    ready: served.canary.ready,
                  },
                }
              : {}),
            ...(served.shadow
              ? {
                  shadow: {
                    uri: served.shadow.uri,
                    version: served.shadow.version,
                    ready: served.shadow.ready,
                  },
                }
              : {}),
          }
        : null,
      window: { from, to, minutes: q.minutes },
      versions: await serviceFigures(registry.tracking.db, q.model, from, to),
    };
  });
}
