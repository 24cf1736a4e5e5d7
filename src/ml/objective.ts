/**
 * @module ml/objective
 * The losses the boosted trees minimise: their starting score, gradients, hessians, and the loss
 * reported per iteration (log loss for binary classification, RMSE for regression).
 */
import { fastExp } from './fast-exp.js';

export type Objective = 'binary' | 'regression';

/** One training iteration's losses (`log_loss` or `rmse`), as logged to tracking. */
export interface IterationMetrics {
  iteration: number;
  metric: string;
  train: number;
  validation?: number;
}

/** Hessian floor: keeps a leaf's denominator positive when every row is predicted with certainty. */
const MIN_HESSIAN = 1e-16;
const TWO_POW_256 = 2 ** 256;
const TWO_POW_MINUS_256 = 2 ** -256;

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
 * same exponentials, so computing them together saves a pass.
 */
export function gradients(
  objective: Objective,
  y: Float64Array,
  w: Float64Array,
  raw: Float64Array,
  gh: Float64Array,
): number {
  let sum = 0;
  if (objective === 'regression') {
    for (let i = 0; i < y.length; i++) {
      const d = raw[i] - y[i];
      gh[2 * i] = w[i] * d;
      gh[2 * i + 1] = w[i];
      sum += d * d;
    }
    return Math.sqrt(sum / y.length);
  }
  // sum log(1 + e_i) is taken as the log of a running product, rescaled by 2^-256 before it can
  // overflow, so the pass needs no logarithm per row (as costly as the exponential). Terms above
  // 2^256 go to the sum directly, where log(1 + e) = -z to double precision.
  let product = 1;
  let octaves = 0;
  for (let i = 0; i < y.length; i++) {
    const z = raw[i];
    const e = fastExp(-z);
    const p = 1 / (1 + e);
    const yi = y[i];
    gh[2 * i] = w[i] * (p - yi);
    gh[2 * i + 1] = w[i] * Math.max(p * (1 - p), MIN_HESSIAN);
    // -log(p) = log(1 + e^-z); -log(1 - p) = z + log(1 + e^-z).
    sum += (1 - yi) * z;
    if (e < TWO_POW_256) {
      product *= 1 + e;
      if (product > TWO_POW_256) {
        product *= TWO_POW_MINUS_256;
        octaves += 256;
      }
    } else sum -= z;
  }
  return (sum + Math.log(product) + octaves * Math.LN2) / y.length;
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
