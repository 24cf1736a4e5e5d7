/**
 * @module ml/metrics
 * Evaluation metrics with scikit-learn's definitions (checked against values it computed): ROC
 * AUC with ties averaged, average precision as the step-wise sum Σ (R_n − R_{n−1}) P_n, log loss
 * clipped at 1e-15, and the curves as `roc_curve(drop_intermediate=False)` and
 * `precision_recall_curve` return them. A row is predicted positive when its score is at least
 * the threshold.
 */
import { KeelError } from '../core/index.js';

/** Counts at a threshold. */
export interface ConfusionMatrix {
  tn: number;
  fp: number;
  fn: number;
  tp: number;
}

function checkPair(y: ArrayLike<number>, score: ArrayLike<number>, what: string): void {
  if (y.length !== score.length || y.length === 0) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `${what}: ${y.length} labels and ${score.length} predictions (need equal, non-zero counts)`,
    );
  }
}

/** Distinct-score steps in decreasing score order: cumulative true and false positives. */
function steps(
  y: ArrayLike<number>,
  score: ArrayLike<number>,
): { thresholds: number[]; tps: number[]; fps: number[] } {
  const order = Array.from({ length: y.length }, (_, i) => i).sort((a, b) => score[b] - score[a]);
  const thresholds: number[] = [];
  const tps: number[] = [];
  const fps: number[] = [];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k];
    if (y[i] === 1) tp++;
    else fp++;
    if (k === order.length - 1 || score[order[k + 1]] !== score[i]) {
      thresholds.push(score[i]);
      tps.push(tp);
      fps.push(fp);
    }
  }
  return { thresholds, tps, fps };
}

/** ROC curve points from (0, 0); the first threshold is +Infinity. */
export function rocCurve(
  y: ArrayLike<number>,
  score: ArrayLike<number>,
): { fpr: number[]; tpr: number[]; thresholds: number[] } {
  checkPair(y, score, 'roc_curve');
  const s = steps(y, score);
  const p = s.tps[s.tps.length - 1];
  const n = s.fps[s.fps.length - 1];
  if (p === 0 || n === 0) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `ROC needs both classes; got ${p} positives and ${n} negatives`,
    );
  }
  return {
    fpr: [0, ...s.fps.map((v) => v / n)],
    tpr: [0, ...s.tps.map((v) => v / p)],
    thresholds: [Number.POSITIVE_INFINITY, ...s.thresholds],
  };
}

/** Area under the ROC curve (trapezoids, so tied scores count half). */
export function rocAuc(y: ArrayLike<number>, score: ArrayLike<number>): number {
  const { fpr, tpr } = rocCurve(y, score);
  let area = 0;
  for (let i = 1; i < fpr.length; i++) area += ((fpr[i] - fpr[i - 1]) * (tpr[i] + tpr[i - 1])) / 2;
  return area;
}

/**
 * Precision-recall points, one per distinct score in increasing threshold order, ending at
 * (precision 1, recall 0), as scikit-learn's (>= 1.1) `precision_recall_curve`.
 */
export function prCurve(
  y: ArrayLike<number>,
  score: ArrayLike<number>,
): { precision: number[]; recall: number[]; thresholds: number[] } {
  checkPair(y, score, 'precision_recall_curve');
  const s = steps(y, score);
  const p = s.tps[s.tps.length - 1];
  if (p === 0)
    throw new KeelError('INVALID_PARAMETER_VALUE', 'precision-recall needs at least one positive label');
  const precision: number[] = [];
  const recall: number[] = [];
  const thresholds: number[] = [];
  for (let i = s.tps.length - 1; i >= 0; i--) {
    precision.push(s.tps[i] / (s.tps[i] + s.fps[i]));
    recall.push(s.tps[i] / p);
    thresholds.push(s.thresholds[i]);
  }
  precision.push(1);
  recall.push(0);
  return { precision, recall, thresholds };
}

/** Average precision (the area under the PR curve as a step function). */
export function averagePrecision(y: ArrayLike<number>, score: ArrayLike<number>): number {
  const { precision, recall } = prCurve(y, score);
  let ap = 0;
  for (let i = 0; i < precision.length - 1; i++) ap += (recall[i] - recall[i + 1]) * precision[i];
  return ap;
}

/** Mean log loss of probabilities of class 1, clipped to [1e-15, 1 − 1e-15]. */
export function logLoss(y: ArrayLike<number>, p: ArrayLike<number>): number {
  checkPair(y, p, 'log_loss');
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const q = Math.min(1 - 1e-15, Math.max(1e-15, p[i]));
    s -= y[i] === 1 ? Math.log(q) : Math.log(1 - q);
  }
  return s / y.length;
}

/** Mean squared difference of probabilities and labels. */
export function brierScore(y: ArrayLike<number>, p: ArrayLike<number>): number {
  checkPair(y, p, 'brier_score');
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (p[i] - y[i]) ** 2;
  return s / y.length;
}

/** Counts with rows scoring at least `threshold` predicted positive. */
export function confusionMatrix(
  y: ArrayLike<number>,
  score: ArrayLike<number>,
  threshold = 0.5,
): ConfusionMatrix {
  checkPair(y, score, 'confusion_matrix');
  const m = { tn: 0, fp: 0, fn: 0, tp: 0 };
  for (let i = 0; i < y.length; i++) {
    const predicted = score[i] >= threshold;
    if (y[i] === 1) predicted ? m.tp++ : m.fn++;
    else predicted ? m.fp++ : m.tn++;
  }
  return m;
}

/** Accuracy, precision, recall and F1 of a confusion matrix (0 where undefined, as sklearn's `zero_division=0`). */
export function thresholdMetrics(m: ConfusionMatrix): {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
} {
  const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
  const precision = ratio(m.tp, m.tp + m.fp);
  const recall = ratio(m.tp, m.tp + m.fn);
  return {
    accuracy: ratio(m.tp + m.tn, m.tp + m.tn + m.fp + m.fn),
    precision,
    recall,
    f1: ratio(2 * precision * recall, precision + recall),
  };
}

export interface CalibrationBin {
  lower: number;
  upper: number;
  count: number;
  meanPredicted: number;
  fractionPositive: number;
}

/**
 * Equal-width calibration bins over [0, 1]; empty bins are left out, as in sklearn's
 * `calibration_curve(strategy='uniform')` (a value on an inner edge belongs to the lower bin).
 */
export function calibrationBins(y: ArrayLike<number>, p: ArrayLike<number>, bins = 10): CalibrationBin[] {
  checkPair(y, p, 'calibration');
  const sums = Array.from({ length: bins }, () => ({ count: 0, p: 0, y: 0 }));
  for (let i = 0; i < y.length; i++) {
    let b = 0;
    while (b < bins - 1 && p[i] > (b + 1) / bins) b++;
    sums[b].count++;
    sums[b].p += p[i];
    sums[b].y += y[i];
  }
  return sums
    .map((s, b) => ({
      lower: b / bins,
      upper: (b + 1) / bins,
      count: s.count,
      meanPredicted: s.p / s.count,
      fractionPositive: s.y / s.count,
    }))
    .filter((b) => b.count > 0);
}

/** RMSE, MAE and R² of a regression. */
export function regressionMetrics(
  y: ArrayLike<number>,
  pred: ArrayLike<number>,
): { rmse: number; mae: number; r2: number } {
  checkPair(y, pred, 'regression metrics');
  let se = 0;
  let ae = 0;
  let mean = 0;
  for (let i = 0; i < y.length; i++) mean += y[i] / y.length;
  let ss = 0;
  for (let i = 0; i < y.length; i++) {
    se += (y[i] - pred[i]) ** 2;
    ae += Math.abs(y[i] - pred[i]);
    ss += (y[i] - mean) ** 2;
  }
  return { rmse: Math.sqrt(se / y.length), mae: ae / y.length, r2: ss === 0 ? Number.NaN : 1 - se / ss };
}
