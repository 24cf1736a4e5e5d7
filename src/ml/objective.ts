/**
 * @module ml/objective
 * The losses the boosted trees minimise: their starting score, gradients, hessians, and the loss
 * reported per iteration (log loss for binary classification, RMSE for regression).
 */
import type { KernelMemory } from './wasm/kernels.js';

export type Objective = 'binary' | 'regression';

/** One training iteration's losses (`log_loss` or `rmse`), as logged to tracking. */
export interface IterationMetrics {
  iteration: number;
  metric: string;
  train: number;
  validation?: number;
}

export const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** The constant raw score that minimises the weighted loss: log-odds of the rate, or the mean. */
export function baseScore(objective: Objective, y: Float64Array, w: Float64Array): number {
  let sy = 0;
  let sw = 0;
  for (let i = 0; i < y.length; i++) {
    sy += w[i] * y[i];
    sw += w[i];
  }
  const mean = sy / sw;
  if (objective === 'regression') return mean;
  const p = Math.min(1 - 1e-6, Math.max(1e-6, mean));
  return Math.log(p / (1 - p));
}

/**
 * Fills `gh` with the weighted gradient and hessian of the loss at the raw scores `raw`,
 * interleaved per row, and returns the unweighted loss there (as `evalLoss`): both need the
 * same exponentials, so computing them together saves a pass. The arrays are views of `memory`.
 */
export function gradients(
  memory: KernelMemory,
  objective: Objective,
  y: Float64Array,
  w: Float64Array,
  raw: Float64Array,
  gh: Float64Array,
): number {
  if (objective === 'binary') return memory.logisticGradients(y, w, raw, gh);
  let sum = 0;
  for (let i = 0; i < y.length; i++) {
    const d = raw[i] - y[i];
    gh[2 * i] = w[i] * d;
    gh[2 * i + 1] = w[i];
    sum += d * d;
  }
  return Math.sqrt(sum / y.length);
}

/** The unweighted evaluation loss at raw scores: log loss (binary) or RMSE (regression). */
export function evalLoss(objective: Objective, y: Float64Array, raw: Float64Array): number {
  let sum = 0;
  if (objective === 'regression') {
    for (let i = 0; i < y.length; i++) sum += (raw[i] - y[i]) ** 2;
    return Math.sqrt(sum / y.length);
  }
  for (let i = 0; i < y.length; i++) {
    // log(1 + e^-z) for y=1 and log(1 + e^z) for y=0, computed without overflow.
    const z = y[i] === 1 ? raw[i] : -raw[i];
    sum += z > 0 ? Math.log1p(Math.exp(-z)) : -z + Math.log1p(Math.exp(z));
  }
  return sum / y.length;
}

/** The name of `evalLoss` for an objective, as metrics are logged. */
export const lossName = (objective: Objective): string => (objective === 'regression' ? 'rmse' : 'log_loss');
