/**
 * @module server/routes/feast
 * The Feast-compatible feature server, as Feast's `feature_server.py` defines it:
 * `POST /get-online-features` (columnar request, column-major response with statuses and event
 * timestamps), `/push`, `/materialize`, `/materialize-incremental` (keel serve's own `GET /health`
 * answers health), and a row-oriented convenience route, `POST /online-features`.
 *
 * As Feast: a body is JSON whatever its content type (Feast's docs post with `curl -d`, which says
 * form-urlencoded); int64 values travel as exact JSON integers; `/push` and `/materialize` answer
 * `null`; errors carry `FeastError.to_error_detail()`, a JSON string of {module, class, message}
 * (Keel adds `error_code`), so Feast's client rebuilds the exception class it names.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify';
import type { z } from 'zod';
import { type ErrorCode, isKeelError, KeelError, parseInput } from '../../core/index.js';
import {
  exactJsonPieces,
  type FeatureSelection,
  type FeatureStore,
  feastOnlineJson,
  onlineRows,
  parseExactJson,
  stringifyExact,
  toEpochMs,
} from '../../features/index.js';
import { toHttpError } from '../errors.js';
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

/** Feast sets no body limit; Keel takes 32 MiB (about a million entity keys) and answers 413 past it. */
export const FEAST_BODY_LIMIT = 32 * 1024 * 1024;

const select = (body: { features?: string[]; feature_service?: string }): FeatureSelection =>
  body.feature_service ? { featureService: body.feature_service } : { features: body.features ?? [] };

/** A request that does not fit its schema: 422, as FastAPI answers pydantic's validation errors. */
function parseBody<S extends z.ZodType>(schema: S, body: unknown, what: string): z.infer<S> {
  try {
    return parseInput(schema, body ?? {}, what);
  } catch (err) {
    if (!isKeelError(err, 'INVALID_PARAMETER_VALUE')) throw err;
    throw new KeelError('DATA_VALIDATION_FAILED', err.message, { cause: err });
  }
}

/** The Feast exception class a Keel error stands for, where Feast has one. */
function feastClass(code: ErrorCode, details?: Record<string, unknown>): [string, string] {
  const named = details?.feastError;
  if (typeof named === 'string') return ['feast.errors', named];
  if (code === 'RESOURCE_DOES_NOT_EXIST') return ['feast.errors', 'FeastObjectNotFoundException'];
  if (code === 'UNAUTHENTICATED' || code === 'PERMISSION_DENIED')
    return ['feast.errors', 'FeastPermissionError'];
  return ['builtins', code === 'TEMPORARILY_UNAVAILABLE' ? 'ConnectionError' : 'ValueError'];
}

const sendJson = (reply: FastifyReply, text: string) =>
  reply.type('application/json; charset=utf-8').send(text);

/** Rows from which an answer is streamed in pieces rather than written in one synchronous call. */
const STREAMED_ROWS = 4096;

/**
 * Sends `body` as exact JSON; a large one (`rows` past `STREAMED_ROWS`) as a stream of pieces
 * with turns of the event loop between them, so other requests are answered meanwhile.
 */
const sendExact = (reply: FastifyReply, body: unknown, rows: number) =>
  rows > STREAMED_ROWS
    ? reply.type('application/json; charset=utf-8').send(Readable.from(exactJsonPieces(body)))
    : sendJson(reply, stringifyExact(body));

/** Errors as Feast's feature server answers them; internal messages are never shown. */
function setErrors(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    const e = toHttpError(err);
    const details = isKeelError(err) ? err.details : undefined;
    let status = e.status;
    // Feast answers an unknown push source with 422 (PushSourceNotFoundException).
    if (details?.feastError === 'PushSourceNotFoundException') status = 422;
    if (status >= 500) {
      request.log.error({ err }, 'feature server error');
      return reply.status(status).send(stringifyExact('Internal server error'));
    }
    const [module, cls] = feastClass(e.code, details);
    const detail = JSON.stringify({ module, class: cls, message: e.message, error_code: e.code });
    return sendJson(reply.status(status), JSON.stringify(detail));
  });
}

/** The Feast feature server routes, as an encapsulated Fastify plugin. */
export const feastRoutes: FastifyPluginAsync<FeastRoutesOptions> = async (app, { store }) => {
  setErrors(app);
  // JSON whatever the content type, integers beyond 2^53 kept exact.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    '*',
    { parseAs: 'string', bodyLimit: FEAST_BODY_LIMIT },
    (_request, body, done) => {
      const text = String(body);
      if (text.trim() === '') return done(null, undefined);
      try {
        done(null, parseExactJson(text));
      } catch (err) {
        done(new KeelError('BAD_REQUEST', `Malformed JSON body: ${(err as Error).message}`), undefined);
      }
    },
  );

  app.post('/get-online-features', { config: { permission: 'read' } }, async (request, reply) => {
    const body = parseBody(getOnlineFeaturesBody, request.body, 'get-online-features request');
    const res = await store.getOnlineFeatures({
      ...select(body),
      entities: body.entities,
      fullFeatureNames: body.full_feature_names,
      includeFeatureViewVersionMetadata: body.include_feature_view_version_metadata,
    });
    return sendExact(reply, feastOnlineJson(res), res.results[0]?.values.length ?? 0);
  });

  app.post('/online-features', { config: { permission: 'read' } }, async (request, reply) => {
    const body = parseBody(onlineRowsBody, request.body, 'online-features request');
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
    return sendExact(
      reply,
      { feature_names: res.featureNames, rows: onlineRows(res), statuses },
      body.entities.length,
    );
  });

  app.post('/push', { config: { permission: 'write' } }, async (request, reply) => {
    const body = parseBody(pushBody, request.body, 'push request');
    const summary = await store.push(body.push_source_name, body.df, {
      to: body.to,
      allowMissingFeatures: body.allow_missing_features,
    });
    // Feast answers null; the outcome per row count travels in headers.
    const written = summary.views.reduce((n, v) => n + v.written, 0);
    const stale = summary.views.reduce((n, v) => n + v.stale, 0);
    return sendJson(reply.header('keel-rows-written', written).header('keel-rows-stale', stale), 'null');
  });

  app.post('/materialize', { config: { permission: 'write' } }, async (request, reply) => {
    const body = parseBody(materializeBody, request.body, 'materialize request');
    let range: { start: number; end: number };
    if (body.disable_event_timestamp) range = { start: 0, end: Date.now() };
    else {
      if (!body.start_ts || !body.end_ts) {
        throw new KeelError(
          'DATA_VALIDATION_FAILED',
          'start_ts and end_ts are required when disable_event_timestamp is false',
        );
      }
      range = { start: toEpochMs(body.start_ts, 'start_ts'), end: toEpochMs(body.end_ts, 'end_ts') };
    }
    const views = await store.materialize({
      ...range,
      views: body.feature_views,
      disableEventTimestamp: body.disable_event_timestamp,
    });
    const rows = views.reduce((n, v) => n + v.rows, 0);
    return sendJson(reply.header('keel-rows-written', rows), 'null');
  });

  app.post('/materialize-incremental', { config: { permission: 'write' } }, async (request, reply) => {
    const body = parseBody(materializeIncrementalBody, request.body, 'materialize-incremental request');
    const views = await store.materializeIncremental({
      end: toEpochMs(body.end_ts, 'end_ts'),
      views: body.feature_views,
    });
    const rows = views.reduce((n, v) => n + v.rows, 0);
    return sendJson(reply.header('keel-rows-written', rows), 'null');
  });
};
