/**
 * @module server/routes/serving
 * Online serving over HTTP, mounted by `keel serve --model <uri>`: MLflow's scoring server
 * (`/invocations`, `/ping`, `/version`), the Open Inference Protocol v2 (`/v2/...`), and Keel's
 * `POST /predict`, which looks a model's features up in the online store by entity keys. Every
 * scoring request holds a lease on its model for exactly its own duration, and its model calls
 * are merged with concurrent ones by the model's micro-batcher.
 */
import type { FastifyPluginAsync } from 'fastify';
import { parseInput } from '../../core/index.js';
import type { PredictionLog } from '../../monitoring/index.js';
import type { BatchingOptions, InputIssue, ModelServer, ServingModel } from '../../serving/index.js';
import type { Readiness } from '../readiness.js';
import { feedbackRoutes } from './feedback.js';
import { encodeRows, issuesField, mlflowScoringRoutes, SCORING_BODY_LIMIT } from './invocations.js';
import { oipRoutes } from './oip.js';
import { Scoring } from './scoring.js';
import { predictBody } from './serving-schemas.js';

export interface ServingRoutesOptions {
  server: ModelServer;
  /** What OIP's readiness routes report. */
  readiness: Readiness;
  batching: BatchingOptions;
  /** Records every answered request's rows; with it, `POST /feedback` takes their labels. */
  log?: PredictionLog;
  /** Told the rows of each model call (metrics). */
  onBatch?: (model: ServingModel, rows: number) => void;
  /** Told the issues the input policy met in each request (metrics). */
  onInputIssues?: (model: ServingModel, issues: readonly InputIssue[]) => void;
}

/** A lease key for sticky traffic splits: the first entity's join key values. */
const entityKey = (entities: Record<string, ReadonlyArray<string | number>>): string =>
  Object.keys(entities)
    .sort()
    .map((k) => String(entities[k][0]))
    .join('|');

export const servingRoutes: FastifyPluginAsync<ServingRoutesOptions> = async (app, options) => {
  const { log } = options;
  const scoring = new Scoring(options.server, options);
  // Added before the routes are registered, so the hook covers every scoring route. onSend, not
  // onResponse: a caller that has its scores can count on them being in the log's buffer.
  if (log)
    app.addHook('onSend', (request, reply, payload, done) => {
      scoring.logAnswered(request, reply);
      done(null, payload);
    });
  // OIP and /predict take JSON only: text gets a 415, not a confusing schema error.
  app.removeContentTypeParser('text/plain');
  if (log) await app.register(feedbackRoutes, { log });
  await app.register(mlflowScoringRoutes, { scoring });
  await app.register(oipRoutes, { prefix: '/v2', scoring, readiness: options.readiness });

  // Keel's own route answers errors as the rest of Keel's API does: `{error_code, message}`.
  app.post('/predict', { bodyLimit: SCORING_BODY_LIMIT, config: { permission: 'read' } }, async (request) => {
    const body = parseInput(predictBody, request.body, 'predict request');
    const name = scoring.pick(body.model, "the request's 'model' field");
    const { entities, rows } = body;
    const key = entities ? entityKey(entities) : undefined;
    return scoring.withModel(name, { version: body.version, key, request }, async (predictor, score) => {
      const { info } = predictor.model;
      if (entities) {
        const found = await predictor.lookupEntities(entities);
        const { scores, issues } = await score(
          encodeRows(predictor.model, { byColumn: found.columns, rows: found.rows }),
          { logged: { keys: entities, byColumn: found.columns }, lookedUp: true },
        );
        const predictions = new Array(found.rows);
        for (let i = 0; i < found.rows; i++) {
          const missing = found.missing[i];
          predictions[i] = missing ? { score: scores[i], missing_features: missing } : { score: scores[i] };
        }
        return { model: info.name, version: info.version, predictions, ...issuesField(issues) };
      }
      const input = (rows as unknown[]).every((r) => Array.isArray(r))
        ? { rows: rows as unknown[][] }
        : { records: rows as Array<Record<string, unknown>> };
      const { scores, issues } = await score(encodeRows(predictor.model, input));
      return {
        model: info.name,
        version: info.version,
        predictions: Array.from(scores, (s) => ({ score: s })),
        ...issuesField(issues),
      };
    });
  });
};
