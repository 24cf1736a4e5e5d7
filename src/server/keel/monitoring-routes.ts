/**
 * @module server/keel/monitoring-routes
 * Keel's monitoring API under `/api/2.0/keel/monitoring`, all reads:
 * - `GET /runs?model=M[&max_results=N]`: a model's monitor runs, newest window first;
 * - `GET /runs/latest[?model=M]`: the latest run of each model (or of one);
 * - `GET /runs/get?run_id=N`: one run;
 * - `GET /profiles/get?name=M&version=V`: a version's reference profile (without its sample),
 *   built on first use as monitoring does;
 * - `GET /alerts[?model=M][&status=firing|resolved|all]`: alerts, newest first (firing by default),
 *   and the notifications still waiting for delivery;
 * - `GET /scheduler`: whether this server holds the scheduler's lease, who does, and each job's
 *   latest due run.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { KeelError, parseInput } from '../../core/index.js';
import type { Monitoring, ReferenceProfile } from '../../monitoring/index.js';
import type { SchedulerStatus } from '../../scheduler/index.js';
import { mlflowErrorHandler } from '../errors.js';

const READ = { config: { permission: 'read' } } as const;

const int = (what: string, min = 1, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number({ message: `${what} must be a number` })
    .int()
    .min(min)
    .max(max);

const query = <S extends z.ZodType>(schema: S, request: FastifyRequest, path: string): z.output<S> =>
  parseInput(schema, request.query ?? {}, `request to ${path}`);

/** A profile without its samples, which only the checks need. */
export function profileView(p: ReferenceProfile) {
  return {
    ...p,
    features: p.features.map(({ sample, ...f }) => ({ ...f, sample_rows: sample.length })),
    scores: (({ sample, ...s }) => ({ ...s, sample_rows: sample.length }))(p.scores),
  };
}

export async function monitoringRoutes(
  app: FastifyInstance,
  opts: { monitoring: Monitoring; scheduler?: { status(): Promise<SchedulerStatus> } },
): Promise<void> {
  const { monitoring, scheduler } = opts;
  app.setErrorHandler(mlflowErrorHandler);

  app.get('/runs', READ, async (request) => {
    const q = query(
      z.object({ model: z.string().min(1), max_results: int('max_results', 1, 1000).default(20) }),
      request,
      '/runs',
    );
    return { runs: await monitoring.runs.history(q.model, q.max_results) };
  });
  app.get('/runs/latest', READ, async (request) => {
    const q = query(z.object({ model: z.string().min(1).optional() }), request, '/runs/latest');
    return { runs: await monitoring.runs.latest(q.model) };
  });
  app.get('/runs/get', READ, async (request) => {
    const q = query(z.object({ run_id: int('run_id') }), request, '/runs/get');
    return { run: await monitoring.runs.get(q.run_id) };
  });
  app.get('/alerts', READ, async (request) => {
    const q = query(
      z.object({
        model: z.string().min(1).optional(),
        status: z.enum(['firing', 'resolved', 'all']).default('firing'),
        max_results: int('max_results', 1, 1000).default(100),
      }),
      request,
      '/alerts',
    );
    return {
      alerts: await monitoring.alerts.list({ model: q.model, status: q.status, limit: q.max_results }),
      pending_notifications: await monitoring.notifier.pending(),
    };
  });
  app.get('/scheduler', READ, async () => {
    if (!scheduler)
      throw new KeelError(
        'RESOURCE_DOES_NOT_EXIST',
        'this server runs no scheduler (keel serve --no-scheduler)',
      );
    return scheduler.status();
  });
  app.get('/profiles/get', READ, async (request) => {
    const q = query(z.object({ name: z.string().min(1), version: int('version') }), request, '/profiles/get');
    return { profile: profileView(await monitoring.profile(q.name, q.version)) };
  });
}
