/**
 * Tiny ONNX models for registry tests, built with the ONNX protobuf schema: a logistic
 * regression `sigmoid(x @ W + b)` over n float features, one probability out.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto, { type onnx as OnnxTypes } from 'onnx-proto';

const { onnx } = onnxProto;

const FLOAT = onnx.TensorProto.DataType.FLOAT;

function tensorType(dims: Array<number | string>): OnnxTypes.ITypeProto {
  return {
    tensorType: {
      elemType: FLOAT,
      shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
    },
  };
}

/** The model's bytes: inputs `features` [N, n], output `probability` [N, 1]. */
export function logisticModelBytes(weights: number[], bias = 0): Uint8Array {
  const n = weights.length;
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'keel-test',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'logistic',
      node: [
        { opType: 'MatMul', input: ['features', 'W'], output: ['z0'], name: 'matmul' },
        { opType: 'Add', input: ['z0', 'b'], output: ['z'], name: 'add' },
        { opType: 'Sigmoid', input: ['z'], output: ['probability'], name: 'sigmoid' },
      ],
      initializer: [
        { name: 'W', dims: [n, 1], dataType: FLOAT, floatData: weights },
        { name: 'b', dims: [1], dataType: FLOAT, floatData: [bias] },
      ],
      input: [{ name: 'features', type: tensorType(['N', n]) }],
      output: [{ name: 'probability', type: tensorType(['N', 1]) }],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Writes a logistic model to `dir/<file>` and returns its path. */
export function writeLogisticModel(dir: string, weights = [0.5, -0.25, 1], file = 'model.onnx'): string {
  const path = join(dir, file);
  writeFileSync(path, logisticModelBytes(weights));
  return path;
}
