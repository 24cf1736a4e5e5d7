import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import {
  exportOnnx,
  type FeatureMatrix,
  META_FEATURES,
  onnx,
  predictGbdt,
  predictLogistic,
  trainGbdt,
  trainLogistic,
} from '../../src/ml/index.js';
import { synthetic } from './synthetic.js';

function toTensor(x: FeatureMatrix): ort.Tensor {
  const n = x.columns[0].length;
  const f = x.columns.length;
  const data = new Float32Array(n * f);
  for (let i = 0; i < n; i++) for (let j = 0; j < f; j++) data[i * f + j] = x.columns[j][i];
  return new ort.Tensor('float32', data, [n, f]);
}

async function runOnnx(bytes: Uint8Array, x: FeatureMatrix): Promise<ort.InferenceSession.OnnxValueMapType> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  return session.run({ input: toTensor(x) });
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

describe.each([0, 0.15])('ONNX export with missing fraction %s', (missing) => {
  const train = synthetic(2000, 1, missing);
  const held = synthetic(500, 2, missing);

  it('GBDT classifier: ORT probabilities equal the TypeScript model within 1e-6, labels agree', async () => {
    const model = trainGbdt(train.x, train.y, {
      iterations: 60,
      maxLeaves: 16,
      subsample: 0.8,
      colsample: 0.8,
      seed: 3,
    });
    const out = await runOnnx(exportOnnx(model), held.x);
    const p = predictGbdt(model, held.x);
    const probs = out.probabilities.data as Float32Array;
    expect(out.probabilities.dims).toEqual([500, 2]);
    expect(
      maxDiff(
        p,
        Array.from({ length: 500 }, (_, i) => probs[2 * i + 1]),
      ),
    ).toBeLessThan(1e-6);
    expect(
      maxDiff(
        p,
        Array.from({ length: 500 }, (_, i) => 1 - probs[2 * i]),
      ),
    ).toBeLessThan(1e-6);
    const labels = out.label.data as BigInt64Array;
    for (let i = 0; i < 500; i++)
      if (Math.abs(p[i] - 0.5) > 1e-6) expect(labels[i]).toBe(p[i] > 0.5 ? 1n : 0n);
  });

  it('GBDT regressor: ORT values equal the TypeScript model within 1e-6', async () => {
    const model = trainGbdt(train.x, train.target, { objective: 'regression', iterations: 60, seed: 3 });
    const out = await runOnnx(exportOnnx(model), held.x);
    expect(out.variable.dims).toEqual([500, 1]);
    expect(maxDiff(predictGbdt(model, held.x), out.variable.data as Float32Array)).toBeLessThan(1e-6);
  });

  it('logistic regression: ORT probabilities equal the TypeScript model within 1e-6', async () => {
    const model = trainLogistic(train.x, train.y, { l2: 0.5 });
    const out = await runOnnx(exportOnnx(model), held.x);
    const p = predictLogistic(model, held.x);
    const probs = out.probabilities.data as Float32Array;
    expect(
      maxDiff(
        p,
        Array.from({ length: 500 }, (_, i) => probs[2 * i + 1]),
      ),
    ).toBeLessThan(1e-6);
    const labels = out.label.data as BigInt64Array;
    expect(labels.length).toBe(500);
    for (let i = 0; i < 500; i++)
      if (Math.abs(p[i] - 0.5) > 1e-6) expect(labels[i]).toBe(p[i] > 0.5 ? 1n : 0n);
  });
});

describe('ONNX export structure', () => {
  it('decodes to what was encoded: opsets, feature names, extra metadata, tree op attributes', () => {
    const { x, y } = synthetic(300, 4);
    const model = trainGbdt(x, y, { iterations: 3, maxLeaves: 4 });
    const decoded = onnx.ModelProto.decode(exportOnnx(model, { metadata: { 'keel.note': 'hi' } }));
    const meta = Object.fromEntries(decoded.metadataProps.map((p) => [p.key, p.value]));
    expect(JSON.parse(meta[META_FEATURES])).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(meta['keel.note']).toBe('hi');
    expect(decoded.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([
      ['', 15],
      ['ai.onnx.ml', 3],
    ]);
    const node = decoded.graph!.node![0]!;
    expect(node.opType).toBe('TreeEnsembleClassifier');
    const names = node.attribute!.map((a) => a.name);
    expect(names).toContain('nodes_missing_value_tracks_true');
    const weights = node.attribute!.find((a) => a.name === 'class_weights')!.floats!;
    const leaves = model.trees.reduce((s, t) => s + t.feature.filter((f) => f < 0).length, 0);
    expect(weights.length).toBe(leaves);
  });
});
