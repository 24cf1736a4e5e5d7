/**
 * @module server/routes/scoring
 * What every online scoring route shares: which served model a request means, and a lease on it
 * held for exactly the request, with the model's calls going through its micro-batcher.
 */
import { KeelError } from '../../core/index.js';
import {
  type BatchingOptions,
  ModelBatchers,
  type ModelServer,
  type Predictor,
  type ScoreRows,
} from '../../serving/index.js';

export class Scoring {
  private readonly batchers: ModelBatchers;

  constructor(
    readonly server: ModelServer,
    batching: BatchingOptions,
  ) {
    this.batchers = new ModelBatchers(batching);
  }

  /** The names of the served models. */
  names(): string[] {
    return [...new Set(this.server.list().map((m) => m.name))];
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
   * found while encoding does not).
   * @throws KeelError RESOURCE_DOES_NOT_EXIST for a model or version not served; EXECUTION_FAILED
   *   when the model fails; whatever `use` throws.
   */
  async withModel<T>(
    name: string,
    options: { version?: string; key?: string },
    use: (predictor: Predictor, score: ScoreRows) => Promise<T>,
  ): Promise<T> {
    const lease = this.server.acquire(name, options);
    let failed = false;
    const { model } = lease.predictor;
    const batcher = this.batchers.for(model);
    const score: ScoreRows = async (values, rows) => {
      try {
        return await batcher.score(values, rows);
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
}
