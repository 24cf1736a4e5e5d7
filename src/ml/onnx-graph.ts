/**
 * @module ml/onnx-graph
 * Pieces shared by Keel's ONNX graphs: a graph fragment type, a node builder, and the tail that
 * turns a logit column into the classifier outputs `label` (int64 [N]) and `probabilities`
 * (float [N, 2], columns 1 − p and p).
 */
import {
  attr,
  FLOAT,
  floatTensor,
  INT64,
  int64Tensor,
  type NodeProto,
  type TensorProto,
  tensorInfo,
  type ValueInfoProto,
} from './onnx-proto.js';

export interface Graph {
  nodes: NodeProto[];
  initializers: TensorProto[];
  outputs: ValueInfoProto[];
}

/** A node named after its first output. */
export function node(
  opType: string,
  input: string[],
  output: string[],
  attribute: NodeProto['attribute'] = [],
  domain = '',
): NodeProto {
  return { opType, domain, name: output[0], input, output, attribute };
}

/** The classifier outputs, as value infos. */
export const classifierOutputs = (): ValueInfoProto[] => [
  tensorInfo('label', INT64, ['N']),
  tensorInfo('probabilities', FLOAT, ['N', 2]),
];

/** Sigmoid of the logit column `logit` [N, 1], then probabilities and a label at p > 0.5. */
export function probabilityTail(logit: string): Graph {
  return {
    nodes: [
      node('Sigmoid', [logit], ['p1']),
      node('Sub', ['one', 'p1'], ['p0']),
      node('Concat', ['p0', 'p1'], ['probabilities'], [attr('axis', 1, 'int')]),
      node('Greater', ['p1', 'half'], ['positive']),
      node('Cast', ['positive'], ['label_column'], [attr('to', INT64, 'int')]),
      node('Reshape', ['label_column', 'flat'], ['label']),
    ],
    initializers: [
      floatTensor('one', [1], [1]),
      floatTensor('half', [1], [0.5]),
      int64Tensor('flat', [1], [-1]),
    ],
    outputs: classifierOutputs(),
  };
}
