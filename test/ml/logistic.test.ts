import { describe, expect, it } from 'vitest';
import { predictLogistic, trainLogistic } from '../../src/ml/index.js';
import { reference } from './reference.js';
import { synthetic } from './synthetic.js';

describe('trainLogistic', () => {
  const r = reference.logistic;
  const x = { names: ['x0', 'x1', 'x2'], columns: r.x.map((c) => Float64Array.from(c)) };
  const y = Float64Array.from(r.y);

  it('matches scikit-learn LogisticRegression (C = 1/l2 on standardised inputs) within 1e-6', () => {
    const model = trainLogistic(x, y, { l2: r.l2 });
    const p = predictLogistic(model, x);
    const worst = r.probabilities.reduce((m, q, i) => Math.max(m, Math.abs(q - p[i])), 0);
    expect(worst).toBeLessThan(1e-6);
    expect(model.history.length).toBeLessThan(20);
  });

  it('imputes missing values with the training mean', () => {
    const model = trainLogistic(x, y, { l2: r.l2 });
    const row = {
      names: x.names,
      columns: [[Number.NaN], [Number.NaN], [Number.NaN]].map((c) => Float64Array.from(c)),
    };
    const atMeans = { names: x.names, columns: model.means.map((m) => Float64Array.of(m)) };
    expect(predictLogistic(model, row)[0]).toBeCloseTo(predictLogistic(model, atMeans)[0], 6);
  });

  it('balanced class weights move predictions toward the minority class', () => {
    const { x: sx, y: sy } = synthetic(2000, 3);
    const skewed = Float64Array.from(sy, (v, i) => (v === 1 && i % 3 !== 0 ? 0 : v));
    const mean = (p: Float64Array) => p.reduce((s, v) => s + v, 0) / p.length;
    const plain = mean(predictLogistic(trainLogistic(sx, skewed), sx));
    const balanced = mean(predictLogistic(trainLogistic(sx, skewed, { classWeight: 'balanced' }), sx));
    expect(balanced).toBeGreaterThan(plain + 0.1);
  });

  it('gives a constant feature weight 0 and warns', () => {
    const cols = [...x.columns, new Float64Array(400).fill(3)];
    const model = trainLogistic({ names: [...x.names, 'flat'], columns: cols }, y);
    expect(model.weights[3]).toBe(0);
    expect(model.warnings[0]).toContain("'flat'");
  });
});
