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

/**
 * A model that loads (one float input [N, width]) and scores one row, but fails every run of more
 * rows: it reshapes its input to [1, width]. Serving warms a model up with one row, so this one
 * loads; tests send it two rows for a model failure.
 */
export function failingModelBytes(width = 2): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'keel-test',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'failing',
      node: [{ opType: 'Reshape', input: ['features', 'shape'], output: ['probability'], name: 'reshape' }],
      initializer: [
        { name: 'shape', dims: [2], dataType: onnx.TensorProto.DataType.INT64, int64Data: [1, width] },
      ],
      input: [{ name: 'features', type: tensorType(['N', width]) }],
      output: [{ name: 'probability', type: tensorType([1, width]) }],
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

/**
 * A model shaped like skl2onnx's export of a LogisticRegression: `ai.onnx.ml` LinearClassifier,
 * an int64 `label`, and a ZipMap whose `output_probability` is a sequence of maps (not a tensor).
 */
export function sklearnLikeModelBytes(coefficients = [0.3, -0.2, 0.1, -0.3, 0.2, -0.1]): Uint8Array {
  const INT64 = onnx.TensorProto.DataType.INT64;
  const attr = (name: string, value: Partial<OnnxTypes.IAttributeProto>): OnnxTypes.IAttributeProto => ({
    name,
    ...value,
  });
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'skl2onnx-like',
    opsetImport: [
      { domain: '', version: 13 },
      { domain: 'ai.onnx.ml', version: 1 },
    ],
    graph: {
      name: 'sklearn_logreg',
      node: [
        {
          opType: 'LinearClassifier',
          domain: 'ai.onnx.ml',
          input: ['float_input'],
          output: ['label', 'probabilities'],
          attribute: [
            attr('coefficients', { type: onnx.AttributeProto.AttributeType.FLOATS, floats: coefficients }),
            attr('intercepts', { type: onnx.AttributeProto.AttributeType.FLOATS, floats: [0.1, -0.1] }),
            attr('classlabels_ints', { type: onnx.AttributeProto.AttributeType.INTS, ints: [0, 1] }),
            attr('post_transform', {
              type: onnx.AttributeProto.AttributeType.STRING,
              s: new TextEncoder().encode('SOFTMAX'),
            }),
          ],
        },
        {
          opType: 'ZipMap',
          domain: 'ai.onnx.ml',
          input: ['probabilities'],
          output: ['output_probability'],
          attribute: [
            attr('classlabels_int64s', { type: onnx.AttributeProto.AttributeType.INTS, ints: [0, 1] }),
          ],
        },
      ],
      input: [{ name: 'float_input', type: tensorType(['N', 3]) }],
      output: [
        { name: 'label', type: { tensorType: { elemType: INT64, shape: { dim: [{ dimParam: 'N' }] } } } },
        {
          name: 'output_probability',
          type: {
            sequenceType: {
              elemType: { mapType: { keyType: INT64, valueType: { tensorType: { elemType: FLOAT } } } },
            },
          },
        },
      ],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
