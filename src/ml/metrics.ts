/**
 * @module ml/metrics
 * Evaluation metrics with scikit-learn's definitions (checked against values it computed): ROC
 * AUC with ties averaged, average precision as the step-wise sum Σ (R_n − R_{n−1}) P_n, log loss
 * clipped at float64 epsilon, calibration bins on `np.linspace` edges, and the curves as
 * `roc_curve(drop_intermediate=False)` and `precision_recall_curve` return them. A row is
 * predicted positive when its score is at least the threshold.
 *
 * Edge cases follow scikit-learn too: with one class the ROC curve and its AUC are NaN (sklearn's
 * `UndefinedMetricWarning`); without a positive label recall counts as 1 at every threshold, so
 * average precision is 0. Scores are checked first, as sklearn's `check_array` and its probability
 * checks do: NaN and infinite scores are refused everywhere, and probabilities outside [0, 1]
 * wherever the metric reads probabilities (log loss, Brier, calibration), naming the rows.
 */
import { KeelError } from '../core/index.js';

/** Counts at a threshold. */
export interface ConfusionMatrix {
  tn: number;
  fp: number;
  fn: number;
  tp: number;
}

/** What a metric reads: any finite score (a ranking), or a probability in [0, 1]. */
type ScoreKind = 'score' | 'probability';

function checkPair(y: ArrayLike<number>, score: ArrayLike<number>, what: string, kind: ScoreKind): void {
  if (y.length !== score.length || y.length === 0) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `${what}: ${y.length} labels and ${score.length} predictions (need equal, non-zero counts)`,
    );
  }
  checkScores(score, what, kind);
}

/** How many rows an error message lists before it only counts. */
const ROWS_NAMED = 5;

/**
 * Refuses NaN and infinite scores, and with `kind` 'probability' scores outside [0, 1], naming
 * the first rows (1-based, in the order given) and the count.
 * @throws KeelError DATA_VALIDATION_FAILED
 */
export function checkScores(score: ArrayLike<number>, what: string, kind: ScoreKind = 'score'): void {
  const bad: number[] = [];
  let count = 0;
  let nan = 0;
  for (let i = 0; i < score.length; i++) {
    const v = score[i];
    const ok = kind === 'probability' ? v >= 0 && v <= 1 : Number.isFinite(v);
    if (ok) continue;
    if (Number.isNaN(v)) nan++;
    if (count++ < ROWS_NAMED) bad.push(i + 1);
  }
  if (count === 0) return;
  const rows = `row${count > 1 ? 's' : ''} ${bad.join(', ')}${count > bad.length ? ', ...' : ''}`;
  const problem =
    nan === count
      ? 'NaN'
      : kind === 'probability'
        ? `${nan > 0 ? 'NaN or ' : ''}outside [0, 1]`
        : 'NaN or infinite';
  throw new KeelError(
    'DATA_VALIDATION_FAILED',
    `${what}: ${count} of ${score.length} ${kind === 'probability' ? 'probabilities' : 'scores'} are ${problem} (${rows})`,
    { details: { rows: bad, count } },
  );
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

/**
 * ROC curve points from (0, 0); the first threshold is +Infinity. With one class only, the rate
 * of the missing class is NaN at every point.
 */
export function rocCurve(
  y: ArrayLike<number>,
  score: ArrayLike<number>,
): { fpr: number[]; tpr: number[]; thresholds: number[] } {
  checkPair(y, score, 'roc_curve', 'score');
  const s = steps(y, score);
  const p = s.tps[s.tps.length - 1];
  const n = s.fps[s.fps.length - 1];
  // Without one of the classes its rate has no denominator: NaN throughout, as sklearn returns.
  const rates = (counts: number[], total: number) =>
    total === 0 ? counts.map(() => Number.NaN).concat(Number.NaN) : [0, ...counts.map((v) => v / total)];
  return {
    fpr: rates(s.fps, n),
    tpr: rates(s.tps, p),
    thresholds: [Number.POSITIVE_INFINITY, ...s.thresholds],
  };
}

/** Area under the ROC curve (trapezoids, so tied scores count half); NaN with one class only. */
export function rocAuc(y: ArrayLike<number>, score: ArrayLike<number>): number {
  const { fpr, tpr } = rocCurve(y, score);
  if (Number.isNaN(fpr[0]) || Number.isNaN(tpr[0])) return Number.NaN;
  let area = 0;
  for (let i = 1; i < fpr.length; i++) area += ((fpr[i] - fpr[i - 1]) * (tpr[i] + tpr[i - 1])) / 2;
  return area;
}

/**
 * Precision-recall points, one per distinct score in increasing threshold order, ending at
 * (precision 1, recall 0), as scikit-learn's (>= 1.1) `precision_recall_curve`. Without a positive
 * label, recall is 1 at every threshold (sklearn's rule, with its warning).
 */
export function prCurve(
  y: ArrayLike<number>,
  score: ArrayLike<number>,
): { precision: number[]; recall: number[]; thresholds: number[] } {
  checkPair(y, score, 'precision_recall_curve', 'score');
  const s = steps(y, score);
  const p = s.tps[s.tps.length - 1];
  const precision: number[] = [];
  const recall: number[] = [];
  const thresholds: number[] = [];
  for (let i = s.tps.length - 1; i >= 0; i--) {
    precision.push(s.tps[i] / (s.tps[i] + s.fps[i]));
    recall.push(p === 0 ? 1 : s.tps[i] / p);
    thresholds.push(s.thresholds[i]);
  }
  precision.push(1);
  recall.push(0);
  return { precision, recall, thresholds };
}

/**
 * Average precision (the area under the PR curve as a step function); 0 without a positive label,
 * as scikit-learn gives (its sum is clipped at 0, so it never returns -0).
 */
export function averagePrecision(y: ArrayLike<number>, score: ArrayLike<number>): number {
  const { precision, recall } = prCurve(y, score);
  let ap = 0;
  for (let i = 0; i < precision.length - 1; i++) ap += (recall[i] - recall[i + 1]) * precision[i];
  return Math.max(0, ap);
}

/**
 * Mean log loss of probabilities of class 1, as scikit-learn computes it for float64 input:
 * clipped to [ε, 1 − ε] with ε the float64 epsilon (2.2e-16, `np.finfo(float64).eps`), the
 * pair (1 − p, p) renormalised to sum to 1, then −log of the true class's share.
 */
export function logLoss(y: ArrayLike<number>, p: ArrayLike<number>): number {
  checkPair(y, p, 'log_loss', 'probability');
  const eps = Number.EPSILON;
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const q = Math.min(1 - eps, Math.max(eps, p[i]));
    const q0 = 1 - q;
    const sum = q0 + q;
    s -= Math.log((y[i] === 1 ? q : q0) / sum);
  }
  return s / y.length;
}

/** Mean squared difference of probabilities and labels. */
export function brierScore(y: ArrayLike<number>, p: ArrayLike<number>): number {
  checkPair(y, p, 'brier_score', 'probability');
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
  checkPair(y, score, 'confusion_matrix', 'score');
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
 * The edges `np.linspace(0, 1, bins + 1)` computes: i · (1 / bins), the last one exactly 1. They
 * differ from i / bins in the last bit at some edges (3 · 0.1 is 0.30000000000000004).
 */
function linspaceEdges(bins: number): number[] {
  const step = 1 / bins;
  return Array.from({ length: bins + 1 }, (_, i) => (i === bins ? 1 : i * step));
}

/**
 * Equal-width calibration bins over [0, 1]; empty bins are left out, as in sklearn's
 * `calibration_curve(strategy='uniform')`: the edges are numpy's `linspace`, and a value's bin is
 * `np.searchsorted(inner edges, value)`, the number of inner edges below it, so a value on an
 * inner edge belongs to the lower bin.
 */
export function calibrationBins(y: ArrayLike<number>, p: ArrayLike<number>, bins = 10): CalibrationBin[] {
  checkPair(y, p, 'calibration', 'probability');
  const edges = linspaceEdges(bins);
  const sums = Array.from({ length: bins }, () => ({ count: 0, p: 0, y: 0 }));
  for (let i = 0; i < y.length; i++) {
    let b = 0;
    while (b < bins - 1 && edges[b + 1] < p[i]) b++;
    sums[b].count++;
    sums[b].p += p[i];
    sums[b].y += y[i];
  }
  return sums
    .map((s, b) => ({
      lower: edges[b],
      upper: edges[b + 1],
      count: s.count,
      meanPredicted: s.p / s.count,
      fractionPositive: s.y / s.count,
    }))
    .filter((b) => b.count > 0);
}

/**
 * RMSE, MAE and R² of a regression. With constant labels R² is 1 for a perfect prediction and 0
 * otherwise (scikit-learn's `force_finite`).
 */
export function regressionMetrics(
  y: ArrayLike<number>,
  pred: ArrayLike<number>,
): { rmse: number; mae: number; r2: number } {
  checkPair(y, pred, 'regression metrics', 'score');
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
  return {
    rmse: Math.sqrt(se / y.length),
    mae: ae / y.length,
    r2: ss === 0 ? (se === 0 ? 1 : 0) : 1 - se / ss,
  };
}
