import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import {
  exportOnnx,
  type FeatureMatrix,
  predictGbdt,
  Rng,
  readOnnxSignature,
  rocAuc,
  trainGbdt,
} from '../../src/ml/index.js';

/**
 * A label that depends on membership of a 12-category code in a scattered set, which no single
 * order threshold can isolate; 10% of codes are missing.
 */
function data(n: number, seed: number): { x: FeatureMatrix; y: Float64Array; target: Float64Array } {
  const rng = new Rng(seed);
  const hot = new Set([1, 4, 6, 9, 11]);
  const code = Float64Array.from({ length: n }, () => (rng.next() < 0.1 ? Number.NaN : rng.int(12)));
  const num = Float64Array.from({ length: n }, () => rng.next() * 4 - 2);
  const y = new Float64Array(n);
  const target = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const inSet = hot.has(code[i]) ? 1.5 : Number.isNaN(code[i]) ? 0.8 : -1;
    y[i] = inSet + 0.5 * num[i] + (rng.next() - 0.5) * 1.5 > 0 ? 1 : 0;
    target[i] = inSet + 0.3 * num[i];
  }
  return { x: { names: ['code', 'num'], columns: [code, num] }, y, target };
}

async function onnxOutputs(bytes: Uint8Array, x: FeatureMatrix) {
  const n = x.columns[0].length;
  const input = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    input[2 * i] = x.columns[0][i];
    input[2 * i + 1] = x.columns[1][i];
  }
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  return session.run({ input: new ort.Tensor('float32', input, [n, 2]) });
}

describe('categorical set splits', () => {
  const train = data(3000, 1);
  const held = data(800, 2);

  it('split category sets with one shallow tree where order splits cannot', () => {
    const params = { iterations: 1, maxDepth: 1, learningRate: 1 };
    const sets = trainGbdt(train.x, train.y, params, { categorical: ['code'] });
    const ordered = trainGbdt(train.x, train.y, params);
    expect(sets.trees[0].categories[0]).toEqual([1, 4, 6, 9, 11]);
    expect(rocAuc(held.y, predictGbdt(sets, held.x))).toBeGreaterThan(
      rocAuc(held.y, predictGbdt(ordered, held.x)) + 0.1,
    );
  });

  it('export as the opset-5 TreeEnsemble; ORT equals the TypeScript model within 1e-6 (classifier and regressor)', async () => {
    const clf = trainGbdt(train.x, train.y, { iterations: 40, maxLeaves: 8 }, { categorical: ['code'] });
    const bytes = exportOnnx(clf);
    expect(readOnnxSignature(bytes).opsets).toEqual([
      { domain: '', version: 21 },
      { domain: 'ai.onnx.ml', version: 5 },
    ]);
    const out = await onnxOutputs(bytes, held.x);
    const p = predictGbdt(clf, held.x);
    const probs = out.probabilities.data as Float32Array;
    const labels = out.label.data as BigInt64Array;
    for (let i = 0; i < p.length; i++) {
      expect(Math.abs(probs[2 * i + 1] - p[i])).toBeLessThan(1e-6);
      if (Math.abs(p[i] - 0.5) > 1e-6) expect(labels[i]).toBe(p[i] > 0.5 ? 1n : 0n);
    }
    const reg = trainGbdt(
      train.x,
      train.target,
      { objective: 'regression', iterations: 40 },
      { categorical: ['code'] },
    );
    const values = (await onnxOutputs(exportOnnx(reg), held.x)).variable.data as Float32Array;
    const q = predictGbdt(reg, held.x);
    for (let i = 0; i < q.length; i++) expect(Math.abs(values[i] - q[i])).toBeLessThan(1e-6);
  });

  it('exports one-leaf trees (no split gains enough) through the opset-5 op too', async () => {
    const model = trainGbdt(
      train.x,
      train.y,
      { iterations: 30, learningRate: 0.5, minSplitGain: 20 },
      { categorical: ['code'] },
    );
    expect(model.trees.some((t) => t.feature.length === 1)).toBe(true);
    expect(model.trees.some((t) => t.categories.some((c) => c !== null))).toBe(true);
    const probs = (await onnxOutputs(exportOnnx(model), held.x)).probabilities.data as Float32Array;
    const p = predictGbdt(model, held.x);
    for (let i = 0; i < p.length; i++) expect(Math.abs(probs[2 * i + 1] - p[i])).toBeLessThan(1e-6);
  });

  it('refuses an unknown categorical feature name', () => {
    expect(() => trainGbdt(train.x, train.y, {}, { categorical: ['colour'] })).toThrow(
      /categorical feature 'colour'/,
    );
  });
});
