/**
 * Tiny ONNX models for registry tests, built with the ONNX protobuf schema: a logistic
 * regression `sigmoid(x @ W + b)` over n float features, one probability out.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto, { type onnx as OnnxTypes } from 'onnx-proto';
import { node } from '../../src/ml/onnx-graph.js';
import { attr, encodeModel, INT64, tensorInfo } from '../../src/ml/onnx-proto.js';

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

/** A model as skl2onnx writes one: IR 8, opset 15 and ai.onnx.ml 1. */
const skl2onnx = (graph: OnnxTypes.IGraphProto): Uint8Array =>
  encodeModel({
    irVersion: 8,
    producerName: 'skl2onnx',
    opsetImport: [
      { domain: '', version: 15 },
      { domain: 'ai.onnx.ml', version: 1 },
    ],
    graph,
  });

/** skl2onnx's binary LinearClassifier: class scores (−z, z) for z = x · w + b, then LOGISTIC. */
const binaryLinear = (
  input: string,
  outputs: string[],
  w: number[],
  b: number,
  labels: OnnxTypes.IAttributeProto,
) =>
  node(
    'LinearClassifier',
    [input],
    outputs,
    [
      attr('coefficients', [...w.map((v) => -v), ...w]),
      attr('intercepts', [-b, b]),
      labels,
      attr('post_transform', 'LOGISTIC'),
    ],
    'ai.onnx.ml',
  );

/**
 * Foreign models laid out as skl2onnx and onnxmltools export them, built with Keel's own ONNX
 * builders. Each scores p = sigmoid(x · w + b) (or, for the regressor, x · w + b) over the columns
 * in order, so a test can compute the expected score by hand.
 */
export const foreignModels = {
  /**
   * skl2onnx's LogisticRegression: one input `float_input` [N, F], a LinearClassifier with a
   * LOGISTIC transform and an L1 Normalizer (two columns, 1 − p and p), then `output_label` and
   * a ZipMap `output_probability` (a sequence of maps).
   */
  sklearnZipMap(w: number[], b: number, classes: number[] | string[] = [0, 1]): Uint8Array {
    const labels =
      typeof classes[0] === 'number'
        ? attr('classlabels_ints', classes as number[], 'int')
        : attr('classlabels_strings', classes as string[]);
    return skl2onnx({
      name: 'LogisticRegression',
      node: [
        binaryLinear('float_input', ['label', 'probability_tensor'], w, b, labels),
        node('Normalizer', ['probability_tensor'], ['probabilities'], [attr('norm', 'L1')], 'ai.onnx.ml'),
        node(
          'Cast',
          ['label'],
          ['output_label'],
          [attr('to', typeof classes[0] === 'number' ? 7 : 8, 'int')],
        ),
        node(
          'ZipMap',
          ['probabilities'],
          ['output_probability'],
          [
            typeof classes[0] === 'number'
              ? attr('classlabels_int64s', classes as number[], 'int')
              : attr('classlabels_strings', classes as string[]),
          ],
          'ai.onnx.ml',
        ),
      ],
      input: [tensorInfo('float_input', FLOAT, ['N', w.length])],
      output: [
        tensorInfo('output_label', typeof classes[0] === 'number' ? INT64 : 8, ['N']),
        {
          name: 'output_probability',
          type: {
            sequenceType: {
              elemType: {
                mapType: {
                  keyType: typeof classes[0] === 'number' ? INT64 : 8,
                  valueType: { tensorType: { elemType: FLOAT } },
                },
              },
            },
          },
        },
      ],
    });
  },

  /**
   * skl2onnx given one input per column (`initial_types` of several [None, 1] tensors, here
   * float, double and int64), concatenated, with onnxmltools' outputs: `label` int64 [N] and
   * `probabilities` float [N, 2] (no ZipMap, as `zipmap=False` or xgboost's converter gives).
   */
  perColumnInputs(
    columns: Array<[name: string, type: 'float' | 'double' | 'int64']>,
    w: number[],
    b: number,
  ) {
    const elem = { float: FLOAT, double: 11, int64: INT64 };
    return skl2onnx({
      name: 'pipeline',
      node: [
        ...columns.map(([name]) => node('Cast', [name], [`${name}_f`], [attr('to', FLOAT, 'int')])),
        node(
          'Concat',
          columns.map(([name]) => `${name}_f`),
          ['merged'],
          [attr('axis', 1, 'int')],
        ),
        binaryLinear('merged', ['label', 'raw'], w, b, attr('classlabels_ints', [0, 1], 'int')),
        node('Normalizer', ['raw'], ['probabilities'], [attr('norm', 'L1')], 'ai.onnx.ml'),
      ],
      input: columns.map(([name, type]) => tensorInfo(name, elem[type], ['N', 1])),
      output: [tensorInfo('label', INT64, ['N']), tensorInfo('probabilities', FLOAT, ['N', 2])],
    });
  },

  /** skl2onnx's LinearRegression: `float_input` [N, F] to `variable` [N, 1]. */
  regressor(w: number[], b: number): Uint8Array {
    return skl2onnx({
      name: 'LinearRegression',
      node: [
        node(
          'LinearRegressor',
          ['float_input'],
          ['variable'],
          [attr('coefficients', w), attr('intercepts', [b])],
          'ai.onnx.ml',
        ),
      ],
      input: [tensorInfo('float_input', FLOAT, ['N', w.length])],
      output: [tensorInfo('variable', FLOAT, ['N', 1])],
    });
  },

  /** A three-class classifier (probabilities [N, 3]): not something Keel scores. */
  threeClasses(): Uint8Array {
    return skl2onnx({
      name: 'three',
      node: [
        node(
          'LinearClassifier',
          ['float_input'],
          ['label', 'probabilities'],
          [
            attr('coefficients', [1, 0, 0, 1, -1, -1]),
            attr('intercepts', [0, 0, 0]),
            attr('classlabels_ints', [0, 1, 2], 'int'),
            attr('post_transform', 'SOFTMAX'),
          ],
          'ai.onnx.ml',
        ),
      ],
      input: [tensorInfo('float_input', FLOAT, ['N', 2])],
      output: [tensorInfo('label', INT64, ['N']), tensorInfo('probabilities', FLOAT, ['N', 3])],
    });
  },

  /** A model that takes text: skl2onnx's form for a string column. */
  stringInput(): Uint8Array {
    return skl2onnx({
      name: 'text',
      node: [node('Identity', ['city'], ['out'])],
      input: [tensorInfo('city', 8, ['N', 1])],
      output: [tensorInfo('out', 8, ['N', 1])],
    });
  },
};

export interface MlpOptions {
  inputs: number;
  hidden: number;
  seed?: number;
  /** The layers as PyTorch exports nn.Linear (Gemm, weights [out, in], transB) instead of MatMul + Add. */
  gemm?: boolean;
  /** Raw little-endian weights (as PyTorch writes them) instead of float_data. */
  raw?: boolean;
  /**
   * Ends as skl2onnx ends an MLPClassifier: input `float_input`, probabilities [N, 2] (1 − p, p),
   * `output_label` and a ZipMap `output_probability`, instead of one `probability` [N, 1].
   */
  sklearn?: boolean;
}

/**
 * A two-layer MLP `sigmoid(relu(x @ W1 + b1) @ W2 + b2)`: input `input` [N, inputs], output
 * `probability` [N, 1], weights drawn from a seeded generator (uniform, scaled by 1/sqrt(fan-in)).
 */
export function mlpModelBytes(options: MlpOptions): Uint8Array {
  const { inputs: f, hidden: h, gemm = false, raw = false, sklearn = false } = options;
  const x = sklearn ? 'float_input' : 'input';
  let state = options.seed ?? 7;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296 - 0.5;
  };
  const draw = (n: number, fanIn: number) =>
    Float32Array.from({ length: n }, () => (uniform() * 4) / Math.sqrt(fanIn));
  const tensor = (name: string, dims: number[], values: Float32Array): OnnxTypes.ITensorProto =>
    raw
      ? { name, dims, dataType: FLOAT, rawData: new Uint8Array(values.buffer.slice(0)) }
      : { name, dims, dataType: FLOAT, floatData: Array.from(values) };
  const w1 = draw(f * h, f);
  const w2 = draw(h, h);
  const b1 = draw(h, f);
  const b2 = draw(1, h);
  // Gemm takes W as [out, in] with transB = 1, as torch.onnx.export writes nn.Linear.
  const transposed = (w: Float32Array, rows: number, cols: number) =>
    Float32Array.from({ length: w.length }, (_, i) => w[(i % rows) * cols + Math.floor(i / rows)]);
  const layers = gemm
    ? {
        node: [
          node('Gemm', [x, 'W1', 'b1'], ['h0'], [attr('transB', 1, 'int')]),
          node('Relu', ['h0'], ['h']),
          node('Gemm', ['h', 'W2', 'b2'], ['z'], [attr('transB', 1, 'int')]),
        ],
        initializer: [
          tensor('W1', [h, f], transposed(w1, f, h)),
          tensor('b1', [h], b1),
          tensor('W2', [1, h], w2),
          tensor('b2', [1], b2),
        ],
      }
    : {
        node: [
          node('MatMul', [x, 'W1'], ['m1']),
          node('Add', ['m1', 'b1'], ['h0']),
          node('Relu', ['h0'], ['h']),
          node('MatMul', ['h', 'W2'], ['m2']),
          node('Add', ['m2', 'b2'], ['z']),
        ],
        initializer: [
          tensor('W1', [f, h], w1),
          tensor('b1', [h], b1),
          tensor('W2', [h, 1], w2),
          tensor('b2', [1], b2),
        ],
      };
  if (sklearn)
    return skl2onnx({
      name: 'MLPClassifier',
      node: [
        ...layers.node,
        node('Sigmoid', ['z'], ['p1']),
        node('Sub', ['one', 'p1'], ['p0']),
        node('Concat', ['p0', 'p1'], ['probabilities'], [attr('axis', 1, 'int')]),
        node('ArgMax', ['probabilities'], ['label'], [attr('axis', 1, 'int'), attr('keepdims', 0, 'int')]),
        node('Cast', ['label'], ['output_label'], [attr('to', INT64, 'int')]),
        node(
          'ZipMap',
          ['probabilities'],
          ['output_probability'],
          [attr('classlabels_int64s', [0, 1], 'int')],
          'ai.onnx.ml',
        ),
      ],
      initializer: [...layers.initializer, tensor('one', [1], Float32Array.of(1))],
      input: [tensorInfo(x, FLOAT, ['N', f])],
      output: [
        tensorInfo('output_label', INT64, ['N']),
        {
          name: 'output_probability',
          type: {
            sequenceType: {
              elemType: { mapType: { keyType: INT64, valueType: { tensorType: { elemType: FLOAT } } } },
            },
          },
        },
      ],
    });
  return encodeModel({
    irVersion: 8,
    producerName: gemm ? 'pytorch-like' : 'keel-test',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'mlp',
      node: [...layers.node, node('Sigmoid', ['z'], ['probability'])],
      initializer: layers.initializer,
      input: [tensorInfo(x, FLOAT, ['N', f])],
      output: [tensorInfo('probability', FLOAT, ['N', 1])],
    },
  });
}
