import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { KeelError } from '../../src/core/index.js';
import { exportOnnx, readOnnxSignature, trainLogistic } from '../../src/ml/index.js';
import { tempDir } from '../helpers/temp.js';
import { synthetic } from './synthetic.js';

const foreign = join(import.meta.dirname, 'fixtures', 'foreign_logistic.onnx');

describe('readOnnxSignature', () => {
  it('reports a foreign model (Gemm graph, opset 13, IR 7) and that model predicts', async () => {
    const sig = readOnnxSignature(foreign);
    expect(sig).toEqual({
      irVersion: 7,
      producer: 'onnx-helper-fixture',
      opsets: [{ domain: '', version: 13 }],
      inputs: [{ name: 'float_input', type: 'float', shape: ['batch', 3] }],
      outputs: [{ name: 'prob', type: 'float', shape: ['batch', 1] }],
      metadata: { author: 'fixture' },
    });
    const session = await ort.InferenceSession.create(foreign);
    const out = await session.run({
      float_input: new ort.Tensor('float32', Float32Array.from([1, 2, 3]), [1, 3]),
    });
    const logit = 0.5 * 1 - 1.25 * 2 + 2 * 3 + 0.1;
    expect((out.prob.data as Float32Array)[0]).toBeCloseTo(1 / (1 + Math.exp(-logit)), 6);
  });

  it('reports a Keel model with its feature names', () => {
    const { x, y } = synthetic(200, 1);
    const sig = readOnnxSignature(exportOnnx(trainLogistic(x, y)));
    expect(sig.inputs).toEqual([{ name: 'input', type: 'float', shape: ['N', 5] }]);
    expect(sig.outputs.map((o) => `${o.name}:${o.type}`)).toEqual(['label:int64', 'probabilities:float']);
    expect(JSON.parse(sig.metadata['keel.feature_names'])).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('refuses files that are not ONNX models, naming the file', () => {
    const dir = tempDir();
    const text = join(dir, 'notes.onnx');
    writeFileSync(text, 'this is a text file, not a model\n');
    const truncated = join(dir, 'truncated.onnx');
    writeFileSync(truncated, readFileSync(foreign).subarray(0, 60));
    for (const path of [text, truncated]) {
      const err = (() => {
        try {
          readOnnxSignature(path);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(KeelError);
      expect((err as KeelError).code).toBe('INVALID_PARAMETER_VALUE');
      expect((err as KeelError).message).toContain(path);
      expect((err as KeelError).message).toContain('not a valid ONNX model');
    }
    expect(() => readOnnxSignature(new Uint8Array(0))).toThrow(/not a valid ONNX model/);
    expect(() => readOnnxSignature(join(dir, 'missing.onnx'))).toThrow(/cannot read ONNX file/);
  });
});
