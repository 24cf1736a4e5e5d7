import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  fairnessReport,
  loadTable,
  predictGbdt,
  rocAuc,
  takeRows,
  takeValues,
  trainGbdt,
} from '../../src/ml/index.js';
import { sharedDataFile } from '../helpers/shared-data.js';
import { ADULT_CATEGORICAL as CATEGORICAL } from './fixtures/adult.js';

const reference = JSON.parse(
  readFileSync(join(import.meta.dirname, 'fixtures', 'adult_reference.json'), 'utf8'),
) as {
  features: string[];
  xgboost: { auc: number };
  sklearn_hgb: { auc: number };
};

const ADULT = sharedDataFile('adult.csv.gz') ?? '';

describe.skipIf(!ADULT)('adult census income (UCI train/test split)', () => {
  it('GBDT test AUC is within 0.005 of xgboost 1.7 hist (depth 6, 200 rounds, lr 0.1); fairness by sex and race', {
    timeout: 120_000,
  }, async () => {
    const table = await loadTable({
      path: ADULT,
      target: 'income',
      positiveLabel: '>50K',
      categorical: CATEGORICAL,
      extraColumns: ['split', 'sex', 'race'],
      features: reference.features,
    });
    const train: number[] = [];
    const test: number[] = [];
    table.extra.split.forEach((s, i) => {
      (s === 'train' ? train : test).push(i);
    });
    expect([train.length, test.length]).toEqual([32561, 16281]);
    const y = table.y!;
    // xgboost's settings: depth 6, lambda 1, min_child_weight 1, no row floor; 64 leaves = a full depth-6 tree.
    const model = trainGbdt(takeRows(table.x, train), takeValues(y, train), {
      iterations: 200,
      learningRate: 0.1,
      maxDepth: 6,
      maxLeaves: 64,
      minSamplesLeaf: 1,
      minChildWeight: 1,
      l2: 1,
    });
    const yTest = takeValues(y, test);
    const p = predictGbdt(model, takeRows(table.x, test));
    const auc = rocAuc(yTest, p);
    expect(Math.abs(auc - reference.xgboost.auc)).toBeLessThan(0.005);
    expect(Math.abs(auc - reference.sklearn_hgb.auc)).toBeLessThan(0.005);

    for (const column of ['sex', 'race']) {
      const groups = test.map((i) => table.extra[column][i]);
      const report = fairnessReport(yTest, p, groups);
      expect(report.groups.reduce((s, g) => s + g.count, 0)).toBe(test.length);
      const rates = report.groups.map((g) => g.selectionRate);
      expect(report.demographicParityDifference).toBeCloseTo(Math.max(...rates) - Math.min(...rates), 12);
      expect(report.disparateImpactRatio).toBeCloseTo(Math.min(...rates) / Math.max(...rates), 12);
      if (column === 'sex') {
        expect(report.groups.map((g) => g.group)).toEqual(['Female', 'Male']);
        // The known disparity of this data set: men are selected far more often than women.
        expect(report.groups[1].selectionRate).toBeGreaterThan(2 * report.groups[0].selectionRate);
      } else {
        expect(report.groups.map((g) => g.group)).toEqual([
          'Amer-Indian-Eskimo',
          'Asian-Pac-Islander',
          'Black',
          'Other',
          'White',
        ]);
      }
    }
  });
});
