/**
 * @module server/routes/feast
 * The Feast-compatible feature server (specs/COMPAT.md section 4): `POST /get-online-features`
 * (columnar request, column-major response with statuses and event timestamps), `/push`,
 * `/materialize`, `/materialize-incremental` (keel serve's own `GET /health` answers health), and a
 * row-oriented convenience route,
 * `POST /online-features`. Every handler validates with zod and calls the `FeatureStore`.
 */
import type { FastifyError, FastifyInstance, FastifyPluginAsync } from 'fastify';
import { isKeelError, parseInput } from '../../core/index.js';
import { type FeatureSelection, type FeatureStore, onlineRows, toEpochMs } from '../../features/index.js';
import {
  getOnlineFeaturesBody,
  materializeBody,
  materializeIncrementalBody,
  onlineRowsBody,
  pushBody,
} from './feast-schemas.js';

export interface FeastRoutesOptions {
  store: FeatureStore;
}

const select = (body: { features?: string[]; feature_service?: string }): FeatureSelection =>
  body.feature_service ? { featureService: body.feature_service } : { features: body.features ?? [] };

/** Maps errors to Keel's error body; only client errors show their message. */
function setErrors(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (isKeelError(err)) {
      if (err.status >= 500) request.log.error({ err }, 'feature server error');
      return reply
        .status(err.status)
        .send({ error_code: err.code, message: err.status < 500 ? err.message : 'internal error' });
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status >= 500) request.log.error({ err }, 'feature server error');
    return reply.status(status).send({
      error_code: status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : status < 500 ? 'BAD_REQUEST' : 'INTERNAL_ERROR',
      message: status < 500 ? err.message : 'internal error',
    });
  });
}

/** The Feast feature server routes, as an encapsulated Fastify plugin. */
export const feastRoutes: FastifyPluginAsync<FeastRoutesOptions> = async (app, { store }) => {
  setErrors(app);

  app.post('/get-online-features', { config: { permission: 'read' } }, async (request) => {
    const body = parseInput(getOnlineFeaturesBody, request.body, 'get-online-features request');
    const res = await store.getOnlineFeatures({
      ...select(body),
      entities: body.entities,
      fullFeatureNames: body.full_feature_names,
    });
    return {
      metadata: { feature_names: res.featureNames },
      results: res.results.map((c) => ({
        values: c.values,
        statuses: c.statuses,
        event_timestamps: c.eventTimestamps,
      })),
    };
  });

  app.post('/online-features', { config: { permission: 'read' } }, async (request) => {
    const body = parseInput(onlineRowsBody, request.body, 'online-features request');
    const keys = [...new Set(body.entities.flatMap((row) => Object.keys(row)))];
    const entities = Object.fromEntries(keys.map((k) => [k, body.entities.map((row) => row[k] ?? null)]));
    const res = await store.getOnlineFeatures({
      ...select(body),
      entities,
      fullFeatureNames: body.full_feature_names,
    });
    const statuses = body.entities.map((_, i) =>
      Object.fromEntries(res.featureNames.map((name, c) => [name, res.results[c].statuses[i]])),
    );
    return { feature_names: res.featureNames, rows: onlineRows(res), statuses };
  });

  app.post('/push', { config: { permission: 'write' } }, async (request) => {
    const body = parseInput(pushBody, request.body, 'push request');
    const rows = await store.push(body.push_source_name, body.df, body.to);
    return { status: 'ok', rows };
  });

  app.post('/materialize', { config: { permission: 'write' } }, async (request) => {
    const body = parseInput(materializeBody, request.body, 'materialize request');
    const views = await store.materialize({
      start: toEpochMs(body.start_ts, 'start_ts'),
      end: toEpochMs(body.end_ts, 'end_ts'),
      views: body.feature_views,
    });
    return { status: 'ok', views };
  });

  app.post('/materialize-incremental', { config: { permission: 'write' } }, async (request) => {
    const body = parseInput(materializeIncrementalBody, request.body, 'materialize-incremental request');
    const views = await store.materializeIncremental({
      end: toEpochMs(body.end_ts, 'end_ts'),
      views: body.feature_views,
    });
    return { status: 'ok', views };
  });
};
