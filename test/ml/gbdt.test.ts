import { describe, expect, it } from 'vitest';
import type { KeelError } from '../../src/core/index.js';
import { predictGbdt, trainGbdt } from '../../src/ml/index.js';
import { synthetic } from './synthetic.js';

const accuracy = (p: Float64Array, y: Float64Array): number =>
  p.reduce((s, v, i) => s + ((v > 0.5 ? 1 : 0) === y[i] ? 1 : 0), 0) / y.length;

describe('trainGbdt', () => {
  const train = synthetic(3000, 11, 0.1);
  const held = synthetic(1000, 12, 0.1);

  it('learns a binary signal, including from missingness, and beats the base rate', () => {
    const model = trainGbdt(train.x, train.y, { iterations: 80, seed: 1 });
    const acc = accuracy(predictGbdt(model, held.x), held.y);
    const base = held.y.reduce((s, v) => s + v, 0) / held.y.length;
    expect(acc).toBeGreaterThan(Math.max(base, 1 - base) + 0.1);
    // c's missingness drives the label: some split on c must send missing values left or right on purpose.
    expect(model.importance.split[2]).toBeGreaterThan(0);
    expect(model.history).toHaveLength(80);
    expect(model.history[79].train).toBeLessThan(model.history[0].train);
  });

  it('is deterministic for a seed with row and column subsampling, and differs across seeds', () => {
    const params = { iterations: 20, subsample: 0.7, colsample: 0.6 };
    const a = trainGbdt(train.x, train.y, { ...params, seed: 5 });
    const b = trainGbdt(train.x, train.y, { ...params, seed: 5 });
    const c = trainGbdt(train.x, train.y, { ...params, seed: 6 });
    expect(JSON.stringify(a.trees)).toBe(JSON.stringify(b.trees));
    expect(JSON.stringify(a.trees)).not.toBe(JSON.stringify(c.trees));
  });

  it('respects max_leaves, max_depth and min_samples_leaf', () => {
    const model = trainGbdt(train.x, train.y, {
      iterations: 5,
      maxLeaves: 6,
      maxDepth: 3,
      minSamplesLeaf: 200,
    });
    for (const tree of model.trees) {
      const leaves = tree.feature.filter((f) => f < 0).length;
      expect(leaves).toBeLessThanOrEqual(6);
      const depth = (node: number): number =>
        tree.feature[node] < 0 ? 0 : 1 + Math.max(depth(tree.left[node]), depth(tree.right[node]));
      expect(depth(0)).toBeLessThanOrEqual(3);
    }
    // Every leaf of the first tree holds at least 200 training rows.
    const tree = model.trees[0];
    const counts = new Map<number, number>();
    for (let r = 0; r < 3000; r++) {
      let node = 0;
      while (tree.feature[node] >= 0) {
        const v = train.x.columns[tree.feature[node]][r];
        const left = Number.isNaN(v) ? tree.defaultLeft[node] : Math.fround(v) <= tree.threshold[node];
        node = left ? tree.left[node] : tree.right[node];
      }
      counts.set(node, (counts.get(node) ?? 0) + 1);
    }
    for (const c of counts.values()) expect(c).toBeGreaterThanOrEqual(200);
  });

  it('stops early on a validation split and keeps the best round', () => {
    const model = trainGbdt(train.x, train.y, {
      iterations: 500,
      learningRate: 0.5,
      earlyStoppingRounds: 5,
      validationFraction: 0.2,
    });
    expect(model.history.length).toBeLessThan(500);
    const best = model.history.reduce((b, h) => (h.validation! < b.validation! ? h : b));
    expect(model.trees).toHaveLength(best.iteration + 1);
    expect(model.history.length).toBe(best.iteration + 6);
  });

  it('class weights raise the predicted rate of the up-weighted class', () => {
    const plain = trainGbdt(train.x, train.y, { iterations: 20 });
    const weighted = trainGbdt(train.x, train.y, { iterations: 20, classWeight: { 0: 1, 1: 5 } });
    const mean = (p: Float64Array) => p.reduce((s, v) => s + v, 0) / p.length;
    expect(mean(predictGbdt(weighted, held.x))).toBeGreaterThan(mean(predictGbdt(plain, held.x)) + 0.1);
  });

  it('regression reduces RMSE well below the target spread', () => {
    const model = trainGbdt(train.x, train.target, { objective: 'regression', iterations: 100 });
    const p = predictGbdt(model, held.x);
    const rmse = Math.sqrt(p.reduce((s, v, i) => s + (v - held.target[i]) ** 2, 0) / p.length);
    const mean = held.target.reduce((s, v) => s + v, 0) / p.length;
    const sd = Math.sqrt(held.target.reduce((s, v) => s + (v - mean) ** 2, 0) / p.length);
    expect(rmse).toBeLessThan(sd * 0.5);
  });

  it('keeps a constant feature with a warning, never splitting it', () => {
    const columns = [...train.x.columns.slice(0, 2), new Float64Array(3000).fill(7)];
    const model = trainGbdt({ names: ['a', 'b', 'flat'], columns }, train.y, { iterations: 5 });
    expect(model.warnings).toEqual([expect.stringContaining("'flat'")]);
    expect(model.importance.split[2]).toBe(0);
    expect(model.featureNames).toEqual(['a', 'b', 'flat']);
  });

  it('refuses NaN labels naming the count, non-binary labels, and bad params', () => {
    const y = train.y.slice();
    y[3] = Number.NaN;
    y[9] = Number.NaN;
    expect(() => trainGbdt(train.x, y, {})).toThrow(/2 of 3000 labels are missing/);
    const y3 = train.y.slice();
    y3[0] = 3;
    expect(() => trainGbdt(train.x, y3, {})).toThrow(/neither 0 nor 1/);
    try {
      trainGbdt(train.x, train.y, { learningRate: -1 });
      expect.unreachable();
    } catch (e) {
      expect((e as KeelError).code).toBe('INVALID_PARAMETER_VALUE');
      expect((e as KeelError).message).toContain('learningRate');
    }
  });
});
