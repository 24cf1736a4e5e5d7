/**
 * Issue 15, items 1-3: one-class data, bad scores and fairness edge cases, checked against
 * scikit-learn 1.2.1 (fixtures/sklearn_edge_cases.json, written by sklearn_edge_cases.py) and
 * Fairlearn's rule for rates of a group without one of the classes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  averagePrecision,
  brierScore,
  calibrationBins,
  classificationMetrics,
  evaluateModel,
  fairnessReport,
  logLoss,
  prCurve,
  regressionMetrics,
  rocAuc,
  rocCurve,
  trainFromConfig,
} from '../../src/ml/index.js';
import { tempDir } from '../helpers/temp.js';
import { writeSyntheticCsv } from './synthetic.js';

interface FairnessCase {
  y: number[];
  score: number[];
  group: string[];
  groups: Array<{ group: string; selectionRate: number; tpr: number; fpr: number }>;
  equal_opportunity_difference: number;
  demographic_parity_difference: number;
}

const ref = JSON.parse(
  readFileSync(join(import.meta.dirname, 'fixtures', 'sklearn_edge_cases.json'), 'utf8'),
) as {
  log_loss_saturated: { y: number[]; p: number[]; value: number };
  calibration: {
    y: number[];
    p: number[];
    bins: Record<string, { fraction_positive: number[]; mean_predicted: number[] }>;
  };
  all_negative: {
    y: number[];
    score: number[];
    average_precision: number;
    warnings: string[];
    pr_curve: { precision: number[]; recall: number[]; thresholds: number[] };
    log_loss: number;
    precision: number;
    recall: number;
    f1: number;
  };
  all_positive: { y: number[]; score: number[]; average_precision: number; log_loss: number };
  r2_constant: { perfect: number; imperfect: number };
  fairness_cases: FairnessCase[];
};

/** A GBDT of a few trees on the synthetic CSV, in a fresh folder. */
async function smallModel(): Promise<{ dir: string; data: string; model: string }> {
  const dir = tempDir();
  const data = writeSyntheticCsv(dir);
  const model = join(dir, 'm.onnx');
  await trainFromConfig(
    {
      data: { path: data, target: 'label', positiveLabel: 'yes', features: ['a', 'b', 'c'] },
      split: { column: 'split' },
      model: { kind: 'gbdt', params: { iterations: 5 } },
    },
    { out: model },
  );
  return { dir, data, model };
}

describe('one-class labels, as scikit-learn treats them', () => {
  const neg = ref.all_negative;
  const pos = ref.all_positive;

  it('gives average precision 0 and recall 1 along the PR curve without a positive label', () => {
    expect(averagePrecision(neg.y, neg.score)).toBe(neg.average_precision);
    expect(Object.is(averagePrecision(neg.y, neg.score), 0)).toBe(true);
    expect(prCurve(neg.y, neg.score)).toEqual(neg.pr_curve);
    expect(averagePrecision(pos.y, pos.score)).toBe(pos.average_precision);
  });

  it('makes ROC AUC and the missing rate NaN instead of failing', () => {
    expect(rocAuc(neg.y, neg.score)).toBeNaN();
    expect(rocAuc(pos.y, pos.score)).toBeNaN();
    const roc = rocCurve(neg.y, neg.score);
    expect(roc.tpr.every(Number.isNaN)).toBe(true);
    expect(roc.fpr.at(-1)).toBe(1);
  });

  it('reports undefined metrics as null with a warning and computes the rest', () => {
    const r = classificationMetrics(neg.y, neg.score);
    expect(r.metrics.roc_auc).toBeNull();
    expect(r.metrics.average_precision).toBe(0);
    expect(r.metrics.log_loss).toBeCloseTo(neg.log_loss, 14);
    expect(r.metrics.precision).toBe(neg.precision);
    expect(r.metrics.recall).toBe(neg.recall);
    expect(r.metrics.f1).toBe(neg.f1);
    expect(r.warnings).toEqual([
      'roc_auc is undefined: every label is 0 (one class only)',
      'average_precision is 0: no positive label, so recall counts as 1 at every threshold',
      'recall is 0: no positive label',
    ]);
    const p = classificationMetrics(pos.y, pos.score);
    expect(p.metrics.roc_auc).toBeNull();
    expect(p.metrics.average_precision).toBe(1);
    expect(p.metrics.log_loss).toBeCloseTo(pos.log_loss, 14);
    expect(p.warnings).toEqual(['roc_auc is undefined: every label is 1 (one class only)']);
  });

  it('gives R² 1 or 0 on constant labels (force_finite)', () => {
    expect(regressionMetrics([2, 2, 2], [2, 2, 2]).r2).toBe(ref.r2_constant.perfect);
    expect(regressionMetrics([2, 2, 2], [1, 2, 3]).r2).toBe(ref.r2_constant.imperfect);
  });

  it('evaluates a one-class file: null AUC and a warning, every file still written', async () => {
    const { dir, data, model } = await smallModel();
    const lines = readFileSync(data, 'utf8').trim().split('\n');
    const oneClass = join(dir, 'no.csv');
    writeFileSync(
      oneClass,
      `${[lines[0], ...lines.slice(1).filter((l) => l.includes(',no,'))].join('\n')}\n`,
    );
    const out = join(dir, 'eval');
    const r = await evaluateModel({ model, data: oneClass, outDir: out, sensitive: ['colour'] });
    expect(r.metrics.roc_auc).toBeNull();
    expect(r.metrics.average_precision).toBe(0);
    expect(r.metrics.log_loss).toBeGreaterThan(0);
    expect(r.warnings).toContain('roc_auc is undefined: every label is 0 (one class only)');
    expect(r.warnings).toContain(
      "fairness by 'colour': group 'blue' has no positive label: its TPR counts as 0, as Fairlearn counts it",
    );
    expect(r.files.map((f) => f.slice(out.length + 1)).sort()).toEqual([
      'calibration.csv',
      'confusion_matrix.csv',
      'fairness.csv',
      'metrics.json',
      'pr.csv',
      'roc.csv',
    ]);
    expect(JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')).metrics.roc_auc).toBeNull();
  });

  it('writes the model when the test split holds one class, with null test metrics', async () => {
    const dir = tempDir();
    writeSyntheticCsv(dir);
    const data = join(dir, 'data.csv');
    // Every test row (split = test) gets label "no".
    const lines = readFileSync(data, 'utf8').trim().split('\n');
    writeFileSync(
      data,
      `${[lines[0], ...lines.slice(1).map((l) => (l.endsWith(',test') ? l.replace(',yes,', ',no,') : l))].join('\n')}\n`,
    );
    const r = await trainFromConfig(
      {
        data: { path: data, target: 'label', positiveLabel: 'yes', features: ['a', 'b'] },
        split: { column: 'split' },
        model: { kind: 'logistic' },
      },
      { out: join(dir, 'model.onnx') },
    );
    expect(readFileSync(r.modelPath).length).toBeGreaterThan(0);
    expect(r.test.roc_auc).toBeNull();
    expect(r.test.accuracy).toBeGreaterThan(0);
    expect(r.warnings).toContain('test split: roc_auc is undefined: every label is 0 (one class only)');
  });
});

describe('scores checked as scikit-learn checks them', () => {
  it('refuses NaN scores, naming the rows', () => {
    const y = [1, 0, 1, 0, 1, 0, 1, 0];
    const s = [0.9, Number.NaN, 0.2, 0.4, Number.NaN, 0.1, 0.3, 0.5];
    for (const f of [rocAuc, averagePrecision, logLoss, brierScore]) {
      expect(() => f(y, s)).toThrow(/2 of 8 .* are NaN \(rows 2, 5\)/);
    }
    expect(() => classificationMetrics(y, s)).toThrow(
      expect.objectContaining({ code: 'DATA_VALIDATION_FAILED', details: { rows: [2, 5], count: 2 } }),
    );
  });

  it('refuses probabilities outside [0, 1] where probabilities are read, and names at most five rows', () => {
    const y = [1, 0, 1, 0, 1, 0, 1, 0];
    const s = [1.5, 2, 3, -0.1, 4, 5, 6, 0.5];
    expect(() => brierScore(y, s)).toThrow(
      /7 of 8 probabilities are outside \[0, 1\] \(rows 1, 2, 3, 4, 5, \.\.\.\)/,
    );
    expect(() => logLoss(y, s)).toThrow(/outside \[0, 1\]/);
    expect(() => calibrationBins(y, s)).toThrow(/outside \[0, 1\]/);
    // A ranking metric takes any finite score (a decision function), as sklearn's does.
    expect(rocAuc(y, s)).toBeCloseTo(rocAuc(y, [0.15, 0.2, 0.3, -0.01, 0.4, 0.5, 0.6, 0.05]), 12);
    expect(() => rocAuc(y, [Number.POSITIVE_INFINITY, 0, 0, 0, 0, 0, 0, 0])).toThrow(
      /NaN or infinite \(row 1\)/,
    );
  });

  it('clips log loss at float64 epsilon, as sklearn does', () => {
    const c = ref.log_loss_saturated;
    expect(logLoss(c.y, c.p)).toBeCloseTo(c.value, 12);
  });

  it('bins calibration on numpy linspace edges, a value on an edge going to the lower bin', () => {
    const c = ref.calibration;
    for (const [n, want] of Object.entries(c.bins)) {
      const bins = calibrationBins(c.y, c.p, Number(n));
      expect(bins.map((b) => b.fractionPositive)).toEqual(want.fraction_positive);
      for (const [i, b] of bins.entries()) expect(b.meanPredicted).toBeCloseTo(want.mean_predicted[i], 15);
    }
    // 3 · 0.1 is an edge of 10 bins, so 0.30000000000000004 is in the bin (0.2, 0.3].
    const [bin] = calibrationBins([1], [0.30000000000000004], 10);
    expect([bin.lower, bin.upper]).toEqual([0.2, 0.30000000000000004]);
  });
});

describe('fairness as Fairlearn defines it', () => {
  it('counts the TPR of a group without positives (and the FPR without negatives) as 0', () => {
    let withoutPositives = 0;
    for (const c of ref.fairness_cases) {
      const r = fairnessReport(c.y, c.score, c.group, 0.5);
      expect(r.groups.map((g) => g.group)).toEqual(c.groups.map((g) => g.group));
      r.groups.forEach((g, i) => {
        expect(g.selectionRate).toBeCloseTo(c.groups[i].selectionRate, 12);
        expect(g.tpr).toBeCloseTo(c.groups[i].tpr, 12);
        expect(g.fpr).toBeCloseTo(c.groups[i].fpr, 12);
        if (g.positives === 0) withoutPositives++;
      });
      expect(r.equalOpportunityDifference).toBeCloseTo(c.equal_opportunity_difference, 12);
      expect(r.demographicParityDifference).toBeCloseTo(c.demographic_parity_difference, 12);
    }
    // The fixture exercises the rule: many groups have no positive label.
    expect(withoutPositives).toBeGreaterThan(10);
  });

  it('names the groups the rule applies to in warnings', () => {
    const r = fairnessReport([1, 0, 0, 0], [0.9, 0.1, 0.8, 0.2], ['x', 'x', 'y', 'y']);
    expect(r.groups[1]).toMatchObject({ group: 'y', positives: 0, tpr: 0 });
    expect(r.equalOpportunityDifference).toBe(1);
    expect(r.warnings).toEqual([
      "group 'y' has no positive label: its TPR counts as 0, as Fairlearn counts it",
    ]);
  });

  it('puts rows without a sensitive value in a group of their own, named (missing), listed last', () => {
    const r = fairnessReport([1, 0, 1, 0, 1], [0.9, 0.6, 0.2, 0.1, 0.7], ['b', null, 'a', null, '']);
    expect(r.groups.map((g) => [g.group, g.count, g.missing ?? false])).toEqual([
      ['', 1, false],
      ['a', 1, false],
      ['b', 1, false],
      ['(missing)', 2, true],
    ]);
  });

  it('loads a missing sensitive value as missing, not as an empty string', async () => {
    const { dir, data, model } = await smallModel();
    const lines = readFileSync(data, 'utf8').trim().split('\n');
    const withGaps = join(dir, 'gaps.csv');
    writeFileSync(
      withGaps,
      `${[lines[0], ...lines.slice(1).map((l, i) => (i % 5 === 0 ? l.replace(/,(red|green|blue),/, ',,') : l))].join('\n')}\n`,
    );
    const r = await evaluateModel({ model, data: withGaps, sensitive: ['colour'] });
    const groups = r.fairness.colour.groups;
    expect(groups.map((g) => g.group)).toEqual(['blue', 'green', 'red', '(missing)']);
    expect(groups[3].count).toBe(120);
  });
});
