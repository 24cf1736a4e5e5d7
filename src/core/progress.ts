/**
 * @module core/progress
 * Long work (ingestion, materialization, training, batch scoring) reports progress through this
 * callback; the library never draws anything. The CLI turns it into a bar on a TTY and stays quiet
 * with `--json`.
 */
export interface ProgressEvent {
  /** What is being done, e.g. `materialize customer_features`. */
  label: string;
  done: number;
  /** Unknown totals are undefined. */
  total?: number;
  /** Unit of `done`: rows, iterations, files, bytes. */
  unit?: string;
  /** Short extra text, e.g. `auc=0.91`. */
  info?: string;
}

export type ProgressFn = (event: ProgressEvent) => void;

export const noProgress: ProgressFn = () => {};
