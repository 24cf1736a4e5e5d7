/**
 * @module server/keel/retrain-routes
 * Retraining under `/api/2.0/keel/retrain`:
 * - `POST /retrain {model, reason}`: an event trigger (a writer's under `--auth`); answers 202
 *   with the running retraining, which goes on in the server, or 409 with the trigger recorded as
 *   skipped when one of the model runs already;
 * - `GET /retrain/history[?model=M][&max_results=N]`: retrainings, newest first;
 * - `GET /retrain/get?id=N`: one.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseInput } from '../../core/index.js';
import type { Monitoring } from '../../monitoring/index.js';
import { mlflowErrorHandler } from '../errors.js';

const retrainBody = z.strictObject({
  model: z.string().min(1),
  reason: z.string().trim().min(1, 'say why (reason)').max(2000),
});

export async function retrainRoutes(app: FastifyInstance, opts: { monitoring: Monitoring }): Promise<void> {
  const { monitoring } = opts;
  app.setErrorHandler(mlflowErrorHandler);

  app.post('/retrain', { config: { permission: 'write' } }, async (request, reply) => {
    const body = parseInput(retrainBody, request.body ?? {}, 'request to /retrain');
    const retraining = await monitoring.retrain(body.model, {
      reason: body.reason,
      requestedBy: request.actor?.user,
      wait: false,
    });
    if (retraining.status === 'skipped')
      return reply.status(409).send({
        error_code: 'FAILED_PRECONDITION',
        message: `a retraining of '${body.model}' is already running (${retraining.result.runningId}): this trigger is recorded as skipped`,
        retraining,
      });
    return reply.status(202).send({ retraining });
  });
  app.get('/retrain/history', { config: { permission: 'read' } }, async (request) => {
    const q = parseInput(
      z.object({
        model: z.string().min(1).optional(),
        max_results: z.coerce.number().int().min(1).max(1000).default(50),
      }),
      request.query ?? {},
      'request to /retrain/history',
    );
    return { retrainings: await monitoring.retrainings.history(q.model, q.max_results) };
  });
  app.get('/retrain/get', { config: { permission: 'read' } }, async (request) => {
    const q = parseInput(
      z.object({ id: z.coerce.number().int().min(1) }),
      request.query ?? {},
      'request to /retrain/get',
    );
    return { retraining: await monitoring.retrainings.get(q.id) };
  });
}
