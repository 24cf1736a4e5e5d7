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

  it('reaches the optimum of a wider problem: the gradient vanishes (odd rows, columns not a multiple of 4)', () => {
    const { x: sx, y: sy } = synthetic(1001, 8, 0.1);
    const cols = [...sx.columns, ...sx.columns.slice(0, 2).map((c) => c.map((v) => v * 2 + 1))];
    const xs = { names: cols.map((_, j) => `c${j}`), columns: cols };
    const l2 = 0.5;
    const model = trainLogistic(xs, sy, { l2 });
    // The gradient of Σ log-loss + l2/2 ‖β‖² on the standardised scale, in plain arithmetic.
    const d = cols.length;
    const beta = model.weights.map((w, j) => w * model.scales[j]);
    const intercept = model.intercept + model.weights.reduce((s, w, j) => s + w * model.means[j], 0);
    const z = cols.map((c, j) =>
      c.map((v) => (Number.isNaN(v) ? 0 : (v - model.means[j]) / model.scales[j])),
    );
    const grad = beta.map((b) => l2 * b);
    let gIntercept = 0;
    for (let i = 0; i < sy.length; i++) {
      let s = intercept;
      for (let j = 0; j < d; j++) s += beta[j] * z[j][i];
      const r = 1 / (1 + Math.exp(-s)) - sy[i];
      for (let j = 0; j < d; j++) grad[j] += r * z[j][i];
      gIntercept += r;
    }
    expect(Math.max(...grad.map(Math.abs), Math.abs(gIntercept))).toBeLessThan(1e-5);
    expect(model.history.length).toBeLessThan(60);
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
