/**
 * @module server/routes/scoring
 * What every online scoring route shares: which served model a request means, and a lease on it
 * held for exactly the request, with the model's calls going through its micro-batcher. It is
 * also where a request's rows meet their model's input policy before they are scored (unseen
 * categories, missing features: reported, or the request refused), and where its scored rows
 * are kept for the prediction log, which records them once the request is answered.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { KeelError, systemClock } from '../../core/index.js';
import type { LoggedInputs, PredictionLog } from '../../monitoring/index.js';
import {
  type BatchingOptions,
  type EncodedRows,
  type InputIssue,
  ModelBatchers,
  type ModelServer,
  type Predictor,
  type ServingModel,
  screenRows,
} from '../../serving/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The model version a scoring request leased; metrics label the request with it. */
    served?: { model: string; version: string; canary: boolean };
    /** What the request scored, for the prediction log once it is answered. */
    scored?: Array<{ scores: Float64Array; inputs: LoggedInputs }>;
  }
}

export interface ScoreOptions {
  /** What the prediction log records as the rows' inputs (default: the tensor by column name). */
  logged?: LoggedInputs;
  /** The features were read from the online store, not sent by the caller (see `screenRows`). */
  lookedUp?: boolean;
}

/** The scores, and the rows' issues the policy let through, which the answer reports. */
export interface RouteScored {
  scores: Float64Array;
  issues: InputIssue[];
}

/**
 * Judges encoded rows by the model's input policy, then scores them through the model's batcher.
 * @throws KeelError from the policy when it refuses a row (nothing is scored); EXECUTION_FAILED
 *   when the model fails.
 */
export type RouteScore = (encoded: EncodedRows, options?: ScoreOptions) => Promise<RouteScored>;

export interface ScoringOptions {
  batching: BatchingOptions;
  /** Where answered requests' rows are recorded; none: not recorded. */
  log?: PredictionLog;
  /** Told the rows of each model call. */
  onBatch?: (model: ServingModel, rows: number) => void;
  /** Told every issue the input policy met, scored or refused (metrics). */
  onInputIssues?: (model: ServingModel, issues: readonly InputIssue[]) => void;
}

/** The names the log gives a model's input columns: its own, or `input_<j>` for a model fed by position. */
const inputNames = (model: ServingModel): readonly string[] =>
  model.info.features.length > 0
    ? model.info.features
    : Array.from({ length: model.width }, (_, j) => `input_${j}`);

export class Scoring {
  private readonly batchers: ModelBatchers;
  private readonly log?: PredictionLog;
  private readonly onInputIssues?: ScoringOptions['onInputIssues'];

  constructor(
    readonly server: ModelServer,
    options: ScoringOptions,
  ) {
    this.batchers = new ModelBatchers(options.batching, options.onBatch);
    this.log = options.log;
    this.onInputIssues = options.onInputIssues;
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
   * Runs `use` with a lease on model `name`, released once when it settles. `score` applies the
   * model's input policy and goes through its batcher; only the model's failure counts as the
   * model failing the request (bad input found while encoding, or refused by the policy, does
   * not). With `request`, the version leased and the rows scored are kept on it, for metrics and
   * the prediction log.
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
    const policy = this.server.inputPolicy(name);
    const { request } = options;
    if (request)
      request.served = { model: model.info.name, version: model.info.version, canary: lease.canary };
    const score: RouteScore = async (encoded, { logged, lookedUp = false } = {}) => {
      const { values, rows } = encoded;
      const { issues, refusal } = screenRows(model, encoded, policy, lookedUp);
      if (issues.length > 0) this.onInputIssues?.(model, issues);
      if (refusal) throw refusal;
      try {
        const scores = await batcher.score(values, rows);
        if (request && this.log) {
          request.scored ??= [];
          request.scored.push({ scores, inputs: logged ?? { columns: inputNames(model), values } });
        }
        // The shadow gets a copy of what the primary answers (not of a canary's or a pinned version's).
        if (!lease.canary && options.version === undefined) this.mirror(name, encoded, logged, request?.id);
        return { scores, issues };
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
   * Scores a copy of rows the primary scored on the model's shadow, when it has one, after the
   * request's own work (the caller's answer never waits for it), and logs the scores marked
   * shadow. The shadow takes the primary's encoded rows as they are: it was refused unless its
   * columns, their order and category codes are the primary's (serving/compatibility).
   */
  private mirror(
    name: string,
    encoded: EncodedRows,
    logged: LoggedInputs | undefined,
    requestId?: string,
  ): void {
    const lease = this.server.acquireShadow(name);
    if (!lease) return;
    const { model } = lease.predictor;
    setImmediate(async () => {
      const started = performance.now();
      let failed = false;
      try {
        const scores = await this.batchers.for(model).score(encoded.values, encoded.rows);
        if (this.log && requestId !== undefined)
          this.log.append({
            timestamp: systemClock.now(),
            requestId,
            model: model.info.name,
            version: model.info.version,
            canary: false,
            shadow: true,
            latencyMs: performance.now() - started,
            scores,
            inputs: logged ?? { columns: inputNames(model), values: encoded.values },
          });
      } catch {
        // Counted as the shadow's error (metrics); the caller was answered by the primary.
        failed = true;
      } finally {
        lease.release(failed);
      }
    });
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
