/**
 * @module ml/onnx-columns
 * A Keel model rewritten with one input per column, for MLflow's ONNX pyfunc. MLflow's
 * `_OnnxModelWrapper` feeds a pandas DataFrame as `{input name: df[input name].values}` (one 1-D
 * array per ONNX input) and turns the outputs back into a DataFrame by flattening each one, which
 * fails for Keel's `probabilities` [N, 2] beside `label` [N]. So the pyfunc graph takes each
 * feature as its own input, named after the column: a numeric column as double [N], a categorical
 * one as string [N] mapped to its code by `LabelEncoder` (an unseen value or none at all becomes
 * NaN, missing, as Keel's serving encodes it); concatenates them into Keel's input [N, F]; runs
 * Keel's graph unchanged (its names prefixed with `keel/` so no column can collide with them);
 * and answers `label` and `probability` (the class-1 column) for a classifier, `prediction` for a
 * regressor, each [N]. Scores are Keel's to the last bit: the same nodes run on the same floats.
 */
import { KeelError } from '../core/index.js';
import { META_CATEGORIES, META_FEATURES, ONNX_INPUT } from './onnx-export.js';
import { node } from './onnx-graph.js';
import {
  type AttributeProto,
  attr,
  FLOAT,
  floatTensor,
  INT64,
  int64Tensor,
  type NodeProto,
  onnx,
  tensorInfo,
} from './onnx-proto.js';

const STRING = 8;
const DOUBLE = 11;
const PREFIX = 'keel/';

/** A column of the pyfunc graph's signature, typed as MLflow's `ColSpec` types it. */
export interface ColumnSpec {
  name: string;
  type: 'double' | 'string' | 'long' | 'float';
}

export interface ColumnsModel {
  bytes: Uint8Array;
  inputs: ColumnSpec[];
  outputs: ColumnSpec[];
}

const parseJson = <T>(text: string | undefined): T | undefined => {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
};

/** Whether the ONNX metadata is a Keel-trained model's (its feature names recorded). */
export function isKeelModel(metadata: Record<string, string>): boolean {
  const names = parseJson<unknown>(metadata[META_FEATURES]);
  return Array.isArray(names) && names.length > 0 && names.every((n) => typeof n === 'string');
}

/** An output name no column takes: `label`, else `predicted_label`, `predicted_predicted_label`... */
function freeName(base: string, taken: ReadonlySet<string>): string {
  let name = base;
  while (taken.has(name)) name = `predicted_${name}`;
  return name;
}

const renamed = (name: string | null | undefined): string => (name ? `${PREFIX}${name}` : '');

/**
 * The pyfunc graph of a Keel model's ONNX bytes.
 * @throws KeelError INVALID_PARAMETER_VALUE when the bytes are not a Keel model (no feature names,
 *   no single `input` [N, F], outputs Keel does not write).
 */
export function columnsModel(bytes: Uint8Array): ColumnsModel {
  const bad = (why: string) =>
    new KeelError('INVALID_PARAMETER_VALUE', `Not a Keel-trained ONNX model: ${why}`);
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph;
  if (!graph) throw bad('it has no graph');
  const metadata = Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
  if (!isKeelModel(metadata)) throw bad(`it records no ${META_FEATURES}`);
  const features = JSON.parse(metadata[META_FEATURES]) as string[];
  const categories = parseJson<Record<string, string[]>>(metadata[META_CATEGORIES]) ?? {};
  if (new Set(features).size !== features.length || features.some((f) => f === ''))
    throw bad('its feature names are empty or repeated');
  if (graph.input?.length !== 1 || graph.input[0].name !== ONNX_INPUT)
    throw bad(`its input is not one tensor '${ONNX_INPUT}'`);
  const outputNames = (graph.output ?? []).map((o) => o.name ?? '');
  const classifier = outputNames.includes('label') && outputNames.includes('probabilities');
  if (!classifier && !outputNames.includes('variable'))
    throw bad(`its outputs (${outputNames.join(', ')}) are not a classifier's or a regressor's`);
  for (const n of graph.node ?? []) {
    if ((n.attribute ?? []).some((a) => a.g || a.graphs?.length)) throw bad('it has subgraphs');
  }

  // Keel's graph, every name moved under `keel/`.
  const inner: NodeProto[] = (graph.node ?? []).map((n) => ({
    ...n,
    name: renamed(n.name || n.output?.[0]),
    input: (n.input ?? []).map(renamed),
    output: (n.output ?? []).map(renamed),
  }));
  const initializers = (graph.initializer ?? []).map((t) => ({ ...t, name: renamed(t.name) }));

  const nodes: NodeProto[] = [];
  const inputs: ColumnSpec[] = [];
  features.forEach((feature, i) => {
    const column = `${PREFIX}column/${i}`;
    const cats = categories[feature];
    if (Array.isArray(cats)) {
      inputs.push({ name: feature, type: 'string' });
      if (cats.length === 0) {
        // No category was seen at training: every value is unseen, so the code is always NaN.
        nodes.push(node('Shape', [feature], [`${column}/shape`]));
        nodes.push(
          node('ConstantOfShape', [`${column}/shape`], [`${column}/code`], [nanTensorAttr('value')]),
        );
      } else {
        nodes.push(
          node(
            'LabelEncoder',
            [feature],
            [`${column}/code`],
            [
              attr('keys_strings', cats.map(String)),
              attr(
                'values_floats',
                cats.map((_, code) => code),
              ),
              attr('default_float', Number.NaN),
            ],
            'ai.onnx.ml',
          ),
        );
      }
    } else {
      inputs.push({ name: feature, type: 'double' });
      nodes.push(node('Cast', [feature], [`${column}/code`], [attr('to', FLOAT, 'int')]));
    }
    nodes.push(node('Unsqueeze', [`${column}/code`, `${PREFIX}axis1`], [column]));
  });
  nodes.push(
    node(
      'Concat',
      features.map((_, i) => `${PREFIX}column/${i}`),
      [renamed(ONNX_INPUT)],
      [attr('axis', 1, 'int')],
    ),
  );

  const taken = new Set(features);
  const outputs: ColumnSpec[] = [];
  const tail: NodeProto[] = [];
  const extra = [int64Tensor(`${PREFIX}axis1`, [1], [1])];
  if (classifier) {
    const label = freeName('label', taken);
    const probability = freeName('probability', taken);
    tail.push(node('Identity', [renamed('label')], [label]));
    extra.push(int64Tensor(`${PREFIX}class1`, [], [1]));
    tail.push(
      node('Gather', [renamed('probabilities'), `${PREFIX}class1`], [probability], [attr('axis', 1, 'int')]),
    );
    outputs.push({ name: label, type: 'long' }, { name: probability, type: 'float' });
  } else {
    const prediction = freeName('prediction', taken);
    extra.push(int64Tensor(`${PREFIX}flat`, [1], [-1]));
    tail.push(node('Reshape', [renamed('variable'), `${PREFIX}flat`], [prediction]));
    outputs.push({ name: prediction, type: 'float' });
  }

  graph.node = [...nodes, ...inner, ...tail] as typeof graph.node;
  graph.initializer = [...initializers, ...extra] as typeof graph.initializer;
  graph.input = inputs.map((c) =>
    tensorInfo(c.name, c.type === 'string' ? STRING : DOUBLE, ['N']),
  ) as typeof graph.input;
  graph.output = outputs.map((c) =>
    tensorInfo(c.name, c.type === 'long' ? INT64 : FLOAT, ['N']),
  ) as typeof graph.output;
  graph.valueInfo = [];
  graph.name = `${graph.name || 'keel_model'}_columns`;
  return { bytes: onnx.ModelProto.encode(model).finish(), inputs, outputs };
}

function nanTensorAttr(name: string): AttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.TENSOR, t: floatTensor('', [1], [Number.NaN]) };
}
