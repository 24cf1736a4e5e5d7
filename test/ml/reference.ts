/** The scikit-learn reference values of fixtures/sklearn_reference.json (made by sklearn_reference.py). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Reference {
  classification: {
    y: number[];
    score: number[];
    group: string[];
    threshold: number;
    roc_auc: number;
    average_precision: number;
    log_loss: number;
    brier: number;
    accuracy: number;
    precision: number;
    recall: number;
    f1: number;
    confusion: { tn: number; fp: number; fn: number; tp: number };
    roc_curve: { fpr: number[]; tpr: number[] };
    pr_curve: { precision: number[]; recall: number[]; thresholds: number[] };
    calibration: { fraction_positive: number[]; mean_predicted: number[] };
  };
  fairness: {
    groups: Array<{ group: string; count: number; selectionRate: number; tpr: number; fpr: number }>;
    demographic_parity_difference: number;
    equal_opportunity_difference: number;
    disparate_impact_ratio: number;
  };
  regression: { y: number[]; pred: number[]; rmse: number; mae: number; r2: number };
  logistic: { l2: number; x: number[][]; y: number[]; probabilities: number[] };
}

export const reference: Reference = JSON.parse(
  readFileSync(join(import.meta.dirname, 'fixtures', 'sklearn_reference.json'), 'utf8'),
);

export function expectClose(actual: readonly number[], expected: readonly number[], digits = 12): void {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  actual.forEach((a, i) => {
    if (Math.abs(a - expected[i]) > 10 ** -digits) throw new Error(`index ${i}: ${a} != ${expected[i]}`);
  });
}
