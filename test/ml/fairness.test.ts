import { describe, expect, it } from 'vitest';
import { fairnessReport } from '../../src/ml/index.js';
import { reference } from './reference.js';

describe('fairnessReport', () => {
  it('matches the per-group rates and the differences computed with scikit-learn', () => {
    const c = reference.classification;
    const f = reference.fairness;
    const report = fairnessReport(c.y, c.score, c.group, c.threshold);
    expect(report.groups.map((g) => g.group)).toEqual(f.groups.map((g) => g.group));
    report.groups.forEach((g, i) => {
      expect(g.count).toBe(f.groups[i].count);
      expect(g.selectionRate).toBeCloseTo(f.groups[i].selectionRate, 12);
      expect(g.tpr).toBeCloseTo(f.groups[i].tpr, 12);
      expect(g.fpr).toBeCloseTo(f.groups[i].fpr, 12);
    });
    expect(report.demographicParityDifference).toBeCloseTo(f.demographic_parity_difference, 12);
    expect(report.equalOpportunityDifference).toBeCloseTo(f.equal_opportunity_difference, 12);
    expect(report.disparateImpactRatio).toBeCloseTo(f.disparate_impact_ratio, 12);
  });

  it('refuses mismatched lengths', () => {
    expect(() => fairnessReport([1], [0.5], ['a', 'b'])).toThrow(
      /1 labels, 1 predictions and 2 group values/,
    );
  });
});
