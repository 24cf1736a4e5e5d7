import { describe, expect, it } from 'vitest';
import {
  averagePrecision,
  brierScore,
  calibrationBins,
  confusionMatrix,
  logLoss,
  prCurve,
  regressionMetrics,
  rocAuc,
  rocCurve,
  thresholdMetrics,
} from '../../src/ml/index.js';
import { expectClose, reference } from './reference.js';

const c = reference.classification;

describe('classification metrics match scikit-learn on tied scores', () => {
  it('ROC AUC, average precision, log loss, Brier', () => {
    expect(rocAuc(c.y, c.score)).toBeCloseTo(c.roc_auc, 12);
    expect(averagePrecision(c.y, c.score)).toBeCloseTo(c.average_precision, 12);
    expect(logLoss(c.y, c.score)).toBeCloseTo(c.log_loss, 12);
    expect(brierScore(c.y, c.score)).toBeCloseTo(c.brier, 12);
  });

  it('confusion matrix and threshold metrics', () => {
    const m = confusionMatrix(c.y, c.score, c.threshold);
    expect(m).toEqual(c.confusion);
    const t = thresholdMetrics(m);
    expect(t.accuracy).toBeCloseTo(c.accuracy, 12);
    expect(t.precision).toBeCloseTo(c.precision, 12);
    expect(t.recall).toBeCloseTo(c.recall, 12);
    expect(t.f1).toBeCloseTo(c.f1, 12);
  });

  it('ROC and PR curve points, calibration bins', () => {
    const roc = rocCurve(c.y, c.score);
    expectClose(roc.fpr, c.roc_curve.fpr);
    expectClose(roc.tpr, c.roc_curve.tpr);
    const pr = prCurve(c.y, c.score);
    expectClose(pr.precision, c.pr_curve.precision);
    expectClose(pr.recall, c.pr_curve.recall);
    expectClose(pr.thresholds, c.pr_curve.thresholds);
    const bins = calibrationBins(c.y, c.score, 10);
    expectClose(
      bins.map((b) => b.fractionPositive),
      c.calibration.fraction_positive,
    );
    expectClose(
      bins.map((b) => b.meanPredicted),
      c.calibration.mean_predicted,
    );
  });

  it('refuses mismatched lengths', () => {
    expect(() => rocAuc([1, 0], [0.5])).toThrow(/2 labels and 1 predictions/);
  });
});

describe('regression metrics match scikit-learn', () => {
  it('RMSE, MAE, R²', () => {
    const r = regressionMetrics(reference.regression.y, reference.regression.pred);
    expect(r.rmse).toBeCloseTo(reference.regression.rmse, 12);
    expect(r.mae).toBeCloseTo(reference.regression.mae, 12);
    expect(r.r2).toBeCloseTo(reference.regression.r2, 12);
  });
});
