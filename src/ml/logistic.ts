/**
 * @module ml/logistic
 * L2-regularised logistic regression fitted by Newton's method on standardised inputs (the
 * problem is small and smooth, so a handful of exact second-order steps beats first-order
 * solvers). Missing values are imputed with the training mean. The model keeps coefficients on
 * the raw scale too, which is what the ONNX graph uses.
 */
import { z } from 'zod';
import { KeelError, parseInput, strictObject } from '../core/index.js';
import { checkTrainingData, type FeatureMatrix, rowCount, sampleWeights } from './dataset.js';
import { evalLoss, type IterationMetrics, sigmoid } from './objective.js';

export const logisticParamsSchema = strictObject({
  /** L2 penalty on the standardised coefficients (not the intercept); sklearn's 1/C. */
  l2: z.number().min(0).default(1),
  maxIterations: z.number().int().min(1).max(1000).default(50),
  /** Stop when no coefficient moves by more than this in a step. */
  tolerance: z.number().positive().default(1e-10),
  classWeight: z
    .union([z.literal('balanced'), z.object({ 0: z.number().positive(), 1: z.number().positive() })])
    .optional(),
});

export type LogisticParams = z.output<typeof logisticParamsSchema>;
export type LogisticParamsInput = z.input<typeof logisticParamsSchema>;

export interface LogisticModel {
  kind: 'logistic';
  featureNames: string[];
  /** Training means: used to impute missing values and to standardise. */
  means: number[];
  scales: number[];
  /** Coefficients on raw (unstandardised) inputs, and the matching intercept. */
  weights: number[];
  intercept: number;
  params: LogisticParams;
  history: IterationMetrics[];
  warnings: string[];
}

/**
 * Fits a binary logistic regression.
 * @throws KeelError INVALID_PARAMETER_VALUE for bad params or data shapes.
 * @throws KeelError DATA_VALIDATION_FAILED for NaN or non-binary labels.
 * @throws KeelError EXECUTION_FAILED when the Newton system is singular (only possible with l2 = 0).
 */
export function trainLogistic(
  x: FeatureMatrix,
  y: Float64Array,
  params: LogisticParamsInput = {},
  onIteration?: (metrics: IterationMetrics) => void,
): LogisticModel {
  const p = parseInput(logisticParamsSchema, params, 'logistic regression params');
  checkTrainingData(x, y, true);
  const n = y.length;
  const d = x.columns.length;
  const w = sampleWeights(y, p.classWeight);
  const means: number[] = [];
  const scales: number[] = [];
  const warnings: string[] = [];
  // Standardised design matrix, column-major, with missing values at the mean (0).
  const z = x.columns.map((col, j) => {
    let s = 0;
    let c = 0;
    for (let i = 0; i < n; i++) {
      if (Number.isNaN(col[i])) continue;
      s += col[i];
      c++;
    }
    const mean = c > 0 ? s / c : 0;
    let v = 0;
    for (let i = 0; i < n; i++) if (!Number.isNaN(col[i])) v += (col[i] - mean) ** 2;
    const sd = c > 1 ? Math.sqrt(v / c) : 0;
    if (sd === 0)
      warnings.push(`feature '${x.names[j]}' is constant or missing in every training row: its weight is 0`);
    means.push(mean);
    scales.push(sd > 0 ? sd : 1);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = Number.isNaN(col[i]) ? 0 : (col[i] - mean) / scales[j];
    return out;
  });
  const beta = new Float64Array(d + 1); // beta[d] is the intercept
  const raw = new Float64Array(n);
  const history: IterationMetrics[] = [];
  for (let it = 0; it < p.maxIterations; it++) {
    const grad = new Float64Array(d + 1);
    const hess = new Float64Array((d + 1) * (d + 1));
    for (let i = 0; i < n; i++) {
      const prob = sigmoid(raw[i]);
      const r = w[i] * (prob - y[i]);
      const h = w[i] * Math.max(prob * (1 - prob), 1e-12);
      for (let a = 0; a < d; a++) {
        const za = z[a][i];
        grad[a] += r * za;
        const hz = h * za;
        for (let b = 0; b <= a; b++) hess[a * (d + 1) + b] += hz * z[b][i];
        hess[d * (d + 1) + a] += hz;
      }
      grad[d] += r;
      hess[d * (d + 1) + d] += h;
    }
    for (let a = 0; a < d; a++) {
      grad[a] += p.l2 * beta[a];
      hess[a * (d + 1) + a] += p.l2;
    }
    const step = choleskySolve(hess, grad, d + 1);
    let maxStep = 0;
    for (let a = 0; a <= d; a++) {
      beta[a] -= step[a];
      maxStep = Math.max(maxStep, Math.abs(step[a]));
    }
    for (let i = 0; i < n; i++) {
      let s = beta[d];
      for (let a = 0; a < d; a++) s += beta[a] * z[a][i];
      raw[i] = s;
    }
    const entry = { iteration: it, metric: 'log_loss', train: evalLoss('binary', y, raw) };
    history.push(entry);
    onIteration?.(entry);
    if (maxStep < p.tolerance) break;
  }
  const weights = Array.from({ length: d }, (_, j) => beta[j] / scales[j]);
  const intercept = beta[d] - weights.reduce((s, wj, j) => s + wj * means[j], 0);
  return {
    kind: 'logistic',
    featureNames: [...x.names],
    means,
    scales,
    weights,
    intercept,
    params: p,
    history,
    warnings,
  };
}

/**
 * Solves `A x = b` for a symmetric positive definite `A` of which only the lower triangle
 * (row-major, `n` by `n`) is filled.
 */
function choleskySolve(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (!(s > 0)) {
          throw new KeelError(
            'EXECUTION_FAILED',
            'logistic regression: the Newton system is singular; set l2 > 0',
          );
        }
        l[i * n + i] = Math.sqrt(s);
      } else l[i * n + j] = s / l[j * n + j];
    }
  }
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * n + k] * x[k];
    x[i] = s / l[i * n + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = x[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * x[k];
    x[i] = s / l[i * n + i];
  }
  return x;
}

/**
 * Probabilities of class 1. Inputs and weights are rounded to float32 first, as the exported
 * ONNX graph sees them.
 */
export function predictLogistic(model: LogisticModel, x: FeatureMatrix): Float64Array {
  const n = rowCount(x);
  const out = new Float64Array(n);
  const w = model.weights.map(Math.fround);
  const fill = model.means.map(Math.fround);
  for (let i = 0; i < n; i++) {
    let s = Math.fround(model.intercept);
    for (let j = 0; j < w.length; j++) {
      const v = x.columns[j][i];
      s += w[j] * (Number.isNaN(v) ? fill[j] : Math.fround(v));
    }
    out[i] = sigmoid(s);
  }
  return out;
}
