/**
 * @module ml/fairness
 * Group fairness of a binary classifier at a threshold, with Fairlearn's definitions: per group
 * the selection rate, true and false positive rates; across groups the demographic parity
 * difference (max − min selection rate), the equal opportunity difference (max − min TPR) and the
 * disparate impact ratio (min / max selection rate, the "80% rule").
 */
import { KeelError } from '../core/index.js';

export interface GroupRates {
  group: string;
  count: number;
  selectionRate: number;
  /** NaN when the group has no positive label. */
  tpr: number;
  /** NaN when the group has no negative label. */
  fpr: number;
}

export interface FairnessReport {
  threshold: number;
  groups: GroupRates[];
  demographicParityDifference: number;
  equalOpportunityDifference: number;
  disparateImpactRatio: number;
}

/**
 * Fairness of predictions `score >= threshold` across the groups of `sensitive`. Groups are
 * listed in sorted order; groups with an undefined TPR are skipped in its difference.
 * @throws KeelError INVALID_PARAMETER_VALUE when lengths differ or there are no rows.
 */
export function fairnessReport(
  y: ArrayLike<number>,
  score: ArrayLike<number>,
  sensitive: readonly string[],
  threshold = 0.5,
): FairnessReport {
  if (y.length !== score.length || y.length !== sensitive.length || y.length === 0) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `fairness: ${y.length} labels, ${score.length} predictions and ${sensitive.length} group values (need equal, non-zero counts)`,
    );
  }
  const tally = new Map<
    string,
    { n: number; sel: number; pos: number; tp: number; neg: number; fp: number }
  >();
  for (let i = 0; i < y.length; i++) {
    const t = tally.get(sensitive[i]) ?? { n: 0, sel: 0, pos: 0, tp: 0, neg: 0, fp: 0 };
    const selected = score[i] >= threshold ? 1 : 0;
    t.n++;
    t.sel += selected;
    if (y[i] === 1) {
      t.pos++;
      t.tp += selected;
    } else {
      t.neg++;
      t.fp += selected;
    }
    tally.set(sensitive[i], t);
  }
  const groups = [...tally.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([group, t]) => ({
      group,
      count: t.n,
      selectionRate: t.sel / t.n,
      tpr: t.pos === 0 ? Number.NaN : t.tp / t.pos,
      fpr: t.neg === 0 ? Number.NaN : t.fp / t.neg,
    }));
  const range = (values: number[]) => {
    const v = values.filter((x) => !Number.isNaN(x));
    return v.length === 0 ? Number.NaN : Math.max(...v) - Math.min(...v);
  };
  const rates = groups.map((g) => g.selectionRate);
  const maxRate = Math.max(...rates);
  return {
    threshold,
    groups,
    demographicParityDifference: range(rates),
    equalOpportunityDifference: range(groups.map((g) => g.tpr)),
    disparateImpactRatio: maxRate === 0 ? Number.NaN : Math.min(...rates) / maxRate,
  };
}
