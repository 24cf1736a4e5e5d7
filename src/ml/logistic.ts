/**
 * @module ml/logistic
 * L2-regularised logistic regression fitted by L-BFGS on standardised inputs, as scikit-learn's
 * default `lbfgs` solver. Missing values are imputed with the training mean. The model keeps
 * coefficients on the raw scale too, which is what the ONNX graph uses.
 */
import { z } from 'zod';
import { parseInput, strictObject } from '../core/index.js';
import { checkTrainingData, type FeatureMatrix, rowCount, sampleWeights } from './dataset.js';
import { type IterationMetrics, sigmoid } from './objective.js';
import { KernelMemory } from './wasm/kernels.js';

export const logisticParamsSchema = strictObject({
  /** L2 penalty on the standardised coefficients (not the intercept); sklearn's 1/C. */
  l2: z.number().min(0).default(1),
  /** L-BFGS iterations at most (sklearn's `max_iter`). */
  maxIterations: z.number().int().min(1).max(10_000).default(100),
  /**
   * Stop when every component of the objective's gradient is at most this (sklearn's `tol`, which
   * it passes to L-BFGS-B as `gtol`; the objective is the sum of the log losses plus the penalty,
   * as sklearn's). The default is 100 times tighter than sklearn's 1e-4.
   */
  tolerance: z.number().positive().default(1e-6),
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
 * Fits a binary logistic regression: L-BFGS (10 correction pairs, backtracking Armijo line
 * search) on the standardised inputs, minimising Σ w_i log-loss_i + l2/2 ‖β‖², sklearn's
 * objective for `C = 1 / l2`. Each evaluation of the objective and its gradient is one pass over
 * the rows in blocks (`LogisticObjective`), so an iteration costs O(n·d), where the Newton steps
 * this replaced cost O(n·d²) to build the dense Hessian.
 * @throws KeelError INVALID_PARAMETER_VALUE for bad params or data shapes.
 * @throws KeelError DATA_VALIDATION_FAILED for NaN or non-binary labels.
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
  const problem = new LogisticObjective(n, d, y, w, p.l2);
  // Centred design matrix, column-major in kernel memory, missing values at the mean (0); the
  // objective divides by the scales itself, so the inputs it sees are standardised.
  x.columns.forEach((col, j) => {
    const { mean, present } = meanOf(col);
    const sd = present > 1 ? Math.sqrt(centre(col, mean, problem.column(j)) / present) : 0;
    if (sd === 0)
      warnings.push(`feature '${x.names[j]}' is constant or missing in every training row: its weight is 0`);
    means.push(mean);
    scales.push(sd > 0 ? sd : 1);
  });
  problem.scaleBy(scales);
  const history: IterationMetrics[] = [];
  const beta = minimiseLbfgs(problem, d + 1, p.maxIterations, p.tolerance, (iteration, meanLoss) => {
    const entry = { iteration, metric: 'log_loss', train: meanLoss };
    history.push(entry);
    onIteration?.(entry);
  });
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
 * The mean of the present values and their count. A column without missing values, the usual
 * case, is summed branch-free with four running sums (the adds no longer wait on each other).
 */
function meanOf(col: Float64Array): { mean: number; present: number } {
  const n = col.length;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += col[i];
    s1 += col[i + 1];
    s2 += col[i + 2];
    s3 += col[i + 3];
  }
  for (; i < n; i++) s0 += col[i];
  const total = s0 + s1 + (s2 + s3);
  if (!Number.isNaN(total)) return { mean: n > 0 ? total / n : 0, present: n };
  let s = 0;
  let c = 0;
  for (let k = 0; k < n; k++) {
    const v = col[k];
    if (!Number.isNaN(v)) {
      s += v;
      c++;
    }
  }
  return { mean: c > 0 ? s / c : 0, present: c };
}

/**
 * Writes col − mean (0 for a missing value) to `out` and returns Σ (col − mean)² over the present
 * values: the second of the two passes numpy's var makes, fused with filling the design matrix.
 * Standardising was a third of a fit as three passes (two for the moments, one dividing).
 */
function centre(col: Float64Array, mean: number, out: Float64Array): number {
  const n = col.length;
  let s0 = 0;
  let s1 = 0;
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    let a = col[i] - mean;
    let b = col[i + 1] - mean;
    a = Number.isNaN(a) ? 0 : a;
    b = Number.isNaN(b) ? 0 : b;
    out[i] = a;
    out[i + 1] = b;
    s0 += a * a;
    s1 += b * b;
  }
  if (i < n) {
    const a = col[i] - mean;
    out[i] = Number.isNaN(a) ? 0 : a;
    if (!Number.isNaN(a)) s0 += a * a;
  }
  return s0 + s1;
}

/** Correction pairs L-BFGS keeps (scipy's default `maxcor`). */
const MEMORY = 10;
/** Armijo's sufficient-decrease constant. */
const ARMIJO = 1e-4;
const MAX_BACKTRACKS = 20;
/**
 * Stop when a step lowers f by at most this fraction of it (scipy's `ftol` test with a much
 * smaller constant: sklearn's 2.2e-9 stops while the mean loss can still move in its 9th digit).
 * Near the optimum f's rounding noise then ends the run instead of endless halving of steps.
 */
const FTOL = 1e-13;

/**
 * Minimises the objective from θ = 0 with L-BFGS; `report` gets each iteration's mean log loss.
 * Stops when max |∇f| ≤ `gtol`, after `maxIterations`, when a step lowers f by no more than
 * `FTOL` of it, or when a line search can no longer lower f at all (the optimum to rounding).
 */
function minimiseLbfgs(
  f: LogisticObjective,
  size: number,
  maxIterations: number,
  gtol: number,
  report: (iteration: number, meanLoss: number) => void,
): Float64Array {
  let theta = new Float64Array(size);
  let grad = new Float64Array(size);
  let value = f.evaluate(theta, grad);
  const ss: Float64Array[] = [];
  const ys: Float64Array[] = [];
  const rhos: number[] = [];
  const direction = new Float64Array(size);
  const alphas = new Float64Array(MEMORY);
  const next = new Float64Array(size);
  const nextGrad = new Float64Array(size);
  for (let it = 0; it < maxIterations && maxAbs(grad) > gtol; it++) {
    // Two-loop recursion: direction = -H grad, H scaled by s·y / y·y of the newest pair.
    direction.set(grad);
    for (let k = ss.length - 1; k >= 0; k--) {
      alphas[k] = rhos[k] * dot(ss[k], direction);
      axpy(-alphas[k], ys[k], direction);
    }
    const last = ss.length - 1;
    const gamma = last >= 0 ? dot(ss[last], ys[last]) / dot(ys[last], ys[last]) : 1 / Math.max(1, norm(grad));
    for (let i = 0; i < size; i++) direction[i] *= gamma;
    for (let k = 0; k < ss.length; k++) {
      const b = rhos[k] * dot(ys[k], direction);
      axpy(alphas[k] - b, ss[k], direction);
    }
    for (let i = 0; i < size; i++) direction[i] = -direction[i];
    const slope = dot(grad, direction);
    if (!(slope < 0)) break;
    let step = 1;
    let nextValue = Number.POSITIVE_INFINITY;
    for (let k = 0; k < MAX_BACKTRACKS; k++, step /= 2) {
      for (let i = 0; i < size; i++) next[i] = theta[i] + step * direction[i];
      nextValue = f.evaluate(next, nextGrad);
      if (nextValue <= value + ARMIJO * step * slope) break;
    }
    if (!(nextValue < value)) break;
    const converged = value - nextValue <= FTOL * Math.max(Math.abs(value), Math.abs(nextValue), 1);
    const s = Float64Array.from(next, (v, i) => v - theta[i]);
    const y = Float64Array.from(nextGrad, (v, i) => v - grad[i]);
    const sy = dot(s, y);
    // Only pairs of positive curvature keep the inverse Hessian estimate positive definite.
    if (sy > 1e-10 * dot(y, y)) {
      if (ss.length === MEMORY) {
        ss.shift();
        ys.shift();
        rhos.shift();
      }
      ss.push(s);
      ys.push(y);
      rhos.push(1 / sy);
    }
    [theta, grad] = [Float64Array.from(next), Float64Array.from(nextGrad)];
    value = nextValue;
    report(it, f.meanLoss);
    if (converged) break;
  }
  return theta;
}

const dot = (a: Float64Array, b: Float64Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
const axpy = (a: number, x: Float64Array, y: Float64Array): void => {
  for (let i = 0; i < x.length; i++) y[i] += a * x[i];
};
const norm = (a: Float64Array): number => Math.sqrt(dot(a, a));
const maxAbs = (a: Float64Array): number => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** Rows per block: the block's slice of every column stays in cache between the two passes. */
const BLOCK = 512;

/**
 * f(θ) = Σ w_i (log(1 + e^{s_i}) − y_i s_i) + l2/2 Σ_{a<d} θ_a², s = Zθ_{0..d-1} + θ_d, and its
 * gradient, in one pass over row blocks: per block the raw scores (kernel `lr_scores`), the losses
 * and residuals w_i (σ(s_i) − y_i) here (Math.exp and Math.log1p), then the gradient's dot
 * products (kernel `lr_gradient`). Z lives column-major in the kernels' memory.
 */
class LogisticObjective {
  private readonly memory = new KernelMemory();
  private readonly z: Float64Array;
  private readonly raw: Float64Array;
  private readonly residual: Float64Array;
  private readonly theta: Float64Array;
  private readonly grad: Float64Array;
  /** The scale of each column of Z (which is centred, not scaled). */
  private scales: Float64Array;
  /** The unweighted mean log loss at the last θ evaluated. */
  meanLoss = Number.NaN;

  constructor(
    private readonly n: number,
    private readonly d: number,
    private readonly y: Float64Array,
    private readonly w: Float64Array,
    private readonly l2: number,
  ) {
    const m = this.memory;
    const at = {
      z: m.reserve(8 * n * d),
      raw: m.reserve(8 * BLOCK),
      residual: m.reserve(8 * BLOCK),
      theta: m.reserve(8 * (d + 1)),
      grad: m.reserve(8 * d),
    };
    m.commit();
    this.z = m.f64(at.z, n * d);
    this.raw = m.f64(at.raw, BLOCK);
    this.residual = m.f64(at.residual, BLOCK);
    this.theta = m.f64(at.theta, d + 1);
    this.grad = m.f64(at.grad, d);
    this.scales = new Float64Array(d).fill(1);
  }

  /**
   * Makes f see column a of Z divided by scales[a]: θ_a / scale_a goes to the kernels and their
   * gradient is divided by it, which spares a pass writing the standardised matrix.
   */
  scaleBy(scales: readonly number[]): void {
    this.scales = Float64Array.from(scales);
  }

  /** Column j of the design matrix, to fill. */
  column(j: number): Float64Array {
    return this.z.subarray(j * this.n, (j + 1) * this.n);
  }

  evaluate(theta: Float64Array, grad: Float64Array): number {
    const { memory, z, n, d, y, w, raw, residual, scales } = this;
    for (let a = 0; a < d; a++) this.theta[a] = theta[a] / scales[a];
    this.theta[d] = theta[d];
    this.grad.fill(0);
    let weighted = 0;
    let plain = 0;
    let interceptGrad = 0;
    for (let start = 0; start < n; start += BLOCK) {
      const len = Math.min(BLOCK, n - start);
      memory.lrScores(z, n, start, len, this.theta, raw);
      const [wl, pl, rs] = lossesAndResiduals(raw, residual, y, w, start, len);
      weighted += wl;
      plain += pl;
      interceptGrad += rs;
      memory.lrGradient(z, n, start, len, residual, this.grad);
    }
    let penalty = 0;
    for (let a = 0; a < d; a++) {
      penalty += theta[a] * theta[a];
      grad[a] = this.grad[a] / scales[a] + this.l2 * theta[a];
    }
    grad[d] = interceptGrad;
    this.meanLoss = plain / n;
    return weighted + (this.l2 / 2) * penalty;
  }
}

/**
 * Fills `residual` with w (σ(s) − y); returns the weighted and the plain sums of the log losses
 * and the sum of the residuals (the intercept's gradient).
 */
function lossesAndResiduals(
  raw: Float64Array,
  residual: Float64Array,
  y: Float64Array,
  w: Float64Array,
  start: number,
  len: number,
): [number, number, number] {
  let weighted = 0;
  let plain = 0;
  let sum = 0;
  for (let i = 0; i < len; i++) {
    const s = raw[i];
    const e = Math.exp(-Math.abs(s));
    // log(1 + e^s) − y s, without overflow: log1p(e^-|s|) + max(s, 0) − y s.
    const label = y[start + i];
    const loss = Math.log1p(e) + Math.max(s, 0) - label * s;
    const p = s >= 0 ? 1 / (1 + e) : e / (1 + e);
    const weight = w[start + i];
    weighted += weight * loss;
    plain += loss;
    const r = weight * (p - label);
    residual[i] = r;
    sum += r;
  }
  return [weighted, plain, sum];
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
