/**
 * @module server/routes/scoring
 * What every online scoring route shares: which served model a request means, and a lease on it
 * held for exactly the request, with the model's calls going through its micro-batcher. It is
 * also where a request's scored rows are kept for the prediction log, which records them once
 * the request is answered.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { KeelError, systemClock } from '../../core/index.js';
import type { LoggedInputs, PredictionLog } from '../../monitoring/index.js';
import {
  type BatchingOptions,
  ModelBatchers,
  type ModelServer,
  type Predictor,
  type ServingModel,
} from '../../serving/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The model version a scoring request leased; metrics label the request with it. */
    served?: { model: string; version: string; canary: boolean };
    /** What the request scored, for the prediction log once it is answered. */
    scored?: Array<{ scores: Float64Array; inputs: LoggedInputs }>;
  }
}

/**
 * Scores `rows` rows of row-major float32 `values` through the model's batcher. `logged` is what
 * the prediction log records as the rows' inputs (default: `values` by the model's column names).
 */
export type RouteScore = (values: Float32Array, rows: number, logged?: LoggedInputs) => Promise<Float64Array>;

export interface ScoringOptions {
  batching: BatchingOptions;
  /** Where answered requests' rows are recorded; none: not recorded. */
  log?: PredictionLog;
  /** Told the rows of each model call. */
  onBatch?: (model: ServingModel, rows: number) => void;
}

/** The names the log gives a model's input columns: its own, or `input_<j>` for a model fed by position. */
const inputNames = (model: ServingModel): readonly string[] =>
  model.info.features.length > 0
    ? model.info.features
    : Array.from({ length: model.width }, (_, j) => `input_${j}`);

export class Scoring {
  private readonly batchers: ModelBatchers;
  private readonly log?: PredictionLog;

  constructor(
    readonly server: ModelServer,
    options: ScoringOptions,
  ) {
    this.batchers = new ModelBatchers(options.batching, options.onBatch);
    this.log = options.log;
  }

  /** The names of the served models (not `list()`: that builds every model's status, per request). */
  names(): string[] {
    return this.server.names();
  }

  /**
   * The model a request means: the one it names, or the only one served.
   * @param how How a caller names a model on this route, for the error message.
   * @throws KeelError INVALID_PARAMETER_VALUE when several are served and none is named;
   *   RESOURCE_DOES_NOT_EXIST for a name not served.
   */
  pick(name: string | undefined, how: string): string {
    const names = this.names();
    if (name === undefined || name === '') {
      if (names.length === 1) return names[0];
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `${names.length} models are served here (${names.join(', ')}): name one with ${how}`,
      );
    }
    if (!names.includes(name))
      throw new KeelError(
        'RESOURCE_DOES_NOT_EXIST',
        `model '${name}' is not served here (served: ${names.join(', ')})`,
      );
    return name;
  }

  /**
   * Runs `use` with a lease on model `name`, released once when it settles. `score` goes through
   * the model's batcher; only its failure counts as the model failing the request (bad input
   * found while encoding does not). With `request`, the version leased and the rows scored are
   * kept on it, for metrics and the prediction log.
   * @throws KeelError RESOURCE_DOES_NOT_EXIST for a model or version not served; EXECUTION_FAILED
   *   when the model fails; whatever `use` throws.
   */
  async withModel<T>(
    name: string,
    options: { version?: string; key?: string; request?: FastifyRequest },
    use: (predictor: Predictor, score: RouteScore) => Promise<T>,
  ): Promise<T> {
    const lease = this.server.acquire(name, options);
    let failed = false;
    const { model } = lease.predictor;
    const batcher = this.batchers.for(model);
    const { request } = options;
    if (request)
      request.served = { model: model.info.name, version: model.info.version, canary: lease.canary };
    const score: RouteScore = async (values, rows, logged) => {
      try {
        const scores = await batcher.score(values, rows);
        if (request && this.log) {
          request.scored ??= [];
          request.scored.push({ scores, inputs: logged ?? { columns: inputNames(model), values } });
        }
        return scores;
      } catch (cause) {
        failed = true;
        if (cause instanceof KeelError && cause.code === 'EXECUTION_FAILED') throw cause;
        throw new KeelError(
          'EXECUTION_FAILED',
          `model '${model.info.name}' version ${model.info.version} failed to score ${rows} rows: ${(cause as Error).message}`,
          { cause },
        );
      }
    };
    try {
      return await use(lease.predictor, score);
    } finally {
      lease.release(failed);
    }
  }

  /**
   * Appends what an answered request scored to the prediction log: the onSend hook of the
   * scoring routes, so the latency is the time to the answer, before it is written out. A request that failed after scoring is not logged: its caller got no scores.
   */
  logAnswered(request: FastifyRequest, reply: FastifyReply): void {
    const { served, scored } = request;
    if (!this.log || !served || !scored || reply.statusCode >= 300) return;
    const timestamp = systemClock.now();
    for (const { scores, inputs } of scored)
      this.log.append({
        timestamp,
        requestId: request.id,
        model: served.model,
        version: served.version,
        canary: served.canary,
        latencyMs: reply.elapsedTime,
        scores,
        inputs,
      });
  }
}
