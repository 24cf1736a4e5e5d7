/**
 * @module ml/fairness
 * Group fairness of a binary classifier at a threshold, with Fairlearn's definitions: per group
 * the selection rate, true and false positive rates; across groups the demographic parity
 * difference (max − min selection rate), the equal opportunity difference (max − min TPR) and the
 * disparate impact ratio (min / max selection rate, the "80% rule").
 *
 * Fairlearn's rates come from sklearn's `confusion_matrix(normalize='true')`, whose 0/0 rows
 * become 0 (`np.nan_to_num`): a group without positive labels has a TPR of 0, one without
 * negatives an FPR of 0, and both count in the differences. Keel does the same and says so in a
 * warning naming the group, since a difference driven by such a group says little.
 */
import { KeelError } from '../core/index.js';

/** The group of rows whose sensitive value is missing (null). */
export const MISSING_GROUP = '(missing)';

export interface GroupRates {
  /** The sensitive value, or `(missing)` for rows without one. */
  group: string;
  /** Present (true) only on the group of missing values. */
  missing?: true;
  count: number;
  /** Rows labelled 1. */
  positives: number;
  selectionRate: number;
  /** 0 when the group has no positive label (Fairlearn's rule; see `warnings`). */
  tpr: number;
  /** 0 when the group has no negative label (Fairlearn's rule; see `warnings`). */
  fpr: number;
}

export interface FairnessReport {
  threshold: number;
  groups: GroupRates[];
  demographicParityDifference: number;
  equalOpportunityDifference: number;
  /** NaN when no group has any row selected. */
  disparateImpactRatio: number;
  /** Groups whose TPR or FPR is 0 for want of positives or negatives. */
  warnings: string[];
}

/**
 * Fairness of predictions `score >= threshold` across the groups of `sensitive` (null or
 * undefined = missing, its own group). Groups are listed in sorted order, the missing group last.
 * @throws KeelError INVALID_PARAMETER_VALUE when lengths differ or there are no rows.
 */
export function fairnessReport(
  y: ArrayLike<number>,
  score: ArrayLike<number>,
  sensitive: ReadonlyArray<string | null | undefined>,
  threshold = 0.5,
): FairnessReport {
  if (y.length !== score.length || y.length !== sensitive.length || y.length === 0) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `fairness: ${y.length} labels, ${score.length} predictions and ${sensitive.length} group values (need equal, non-zero counts)`,
    );
  }
  const tally = new Map<
    string | null,
    { n: number; sel: number; pos: number; tp: number; neg: number; fp: number }
  >();
  for (let i = 0; i < y.length; i++) {
    const key = sensitive[i] ?? null;
    const t = tally.get(key) ?? { n: 0, sel: 0, pos: 0, tp: 0, neg: 0, fp: 0 };
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
    tally.set(key, t);
  }
  const warnings: string[] = [];
  const groups: GroupRates[] = [...tally.entries()]
    .sort(([a], [b]) => (a === b ? 0 : a === null ? 1 : b === null ? -1 : a < b ? -1 : 1))
    .map(([value, t]) => {
      const group = value ?? MISSING_GROUP;
      if (t.pos === 0)
        warnings.push(`group '${group}' has no positive label: its TPR counts as 0, as Fairlearn counts it`);
      if (t.neg === 0)
        warnings.push(`group '${group}' has no negative label: its FPR counts as 0, as Fairlearn counts it`);
      return {
        group,
        ...(value === null ? { missing: true as const } : {}),
        count: t.n,
        positives: t.pos,
        selectionRate: t.sel / t.n,
        tpr: t.pos === 0 ? 0 : t.tp / t.pos,
        fpr: t.neg === 0 ? 0 : t.fp / t.neg,
      };
    });
  const range = (v: number[]) => Math.max(...v) - Math.min(...v);
  const rates = groups.map((g) => g.selectionRate);
  const maxRate = Math.max(...rates);
  return {
    threshold,
    groups,
    demographicParityDifference: range(rates),
    equalOpportunityDifference: range(groups.map((g) => g.tpr)),
    disparateImpactRatio: maxRate === 0 ? Number.NaN : Math.min(...rates) / maxRate,
    warnings,
  };
}
