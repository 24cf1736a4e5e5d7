/**
 * @module ml/onnx-io
 * How to feed any ONNX model and where its score is, read from the graph rather than from names,
 * so a model Keel did not make is scored like one it did:
 *
 * - **Inputs.** One tensor [N, F] (Keel's `input`, skl2onnx's `float_input`), or one [N, 1] tensor
 *   per column, named after it, as skl2onnx exports a model given several inputs. Float, double
 *   and int64 tensors are fed; a string input is refused (the model would need text Keel does not
 *   send).
 * - **Task and score.** Keel's `keel.task` metadata first. Otherwise a classifier is recognised by
 *   its probabilities: a ZipMap output (skl2onnx and onnxmltools' `output_probability` /
 *   `probabilities`, a sequence of maps ONNX Runtime for Node cannot return, so the ZipMap is cut
 *   off and the [N, C] tensor it reads becomes the output), or a float output [N, 2] (beside a
 *   `label` output or alone); the score is the column of class 1, or of the positive label when
 *   the class labels are strings. A float output [N, 1] computed by a Sigmoid is a classifier's
 *   probability too. Any other float output is a regressor's value. More than two classes are
 *   refused: Keel scores binary classifiers and regressors.
 */
import { readFileSync } from 'node:fs';
import { KeelError } from '../core/index.js';
import { META_TASK } from './onnx-export.js';
import { type ModelProto, type NodeProto, onnx, type ValueInfoProto } from './onnx-proto.js';
import type { Ort } from './onnx-session.js';

type Tensor = InstanceType<Ort['Tensor']>;

export type InputType = 'float32' | 'float64' | 'int64';

export interface ModelInput {
  name: string;
  type: InputType;
}

export interface ModelIo {
  task: 'binary' | 'regression';
  /** Why the task is what it is, for messages and `keel evaluate`'s report. */
  taskFrom: string;
  /** One input [N, width] (`matrix`) or one [N, 1] input per column, named after it (`columns`). */
  layout: 'matrix' | 'columns';
  inputs: ModelInput[];
  /** Values a row; null when a matrix input does not fix it. */
  width: number | null;
  /** The output holding the score. */
  output: string;
  /** The score's column in it: class 1's for a classifier's [N, C] probabilities, else 0. */
  column: number;
  /** Class labels of a classifier, when the graph names them. */
  classes?: string[];
  /** The model to load: the file's bytes, or with the ZipMap cut off (`rewritten`). */
  bytes: Uint8Array;
  rewritten: boolean;
}

const ELEM: Record<number, InputType | undefined> = { 1: 'float32', 11: 'float64', 7: 'int64' };
const TYPE_NAMES: Record<number, string> = { 8: 'string', 9: 'bool', 1: 'float', 11: 'double', 7: 'int64' };
/** Ops that pass a tensor's values through unchanged, followed back to find a Sigmoid. */
const PASS_THROUGH = new Set(['Identity', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Cast']);
/** Attributes of ai.onnx.ml classifiers (and ZipMap) that list the class labels. */
const CLASS_ATTRS = ['classlabels_int64s', 'classlabels_ints', 'classlabels_strings'];

const invalid = (message: string) => new KeelError('INVALID_PARAMETER_VALUE', message);

function dims(info: ValueInfoProto): Array<number | null> | null {
  const shape = info.type?.tensorType?.shape?.dim;
  if (!shape) return null;
  return shape.map((d) =>
    d.dimValue !== undefined && d.dimValue !== null && !d.dimParam ? Number(d.dimValue) : null,
  );
}

function classLabels(node: NodeProto): string[] | undefined {
  for (const name of CLASS_ATTRS) {
    const a = node.attribute?.find((x) => x.name === name);
    if (!a) continue;
    if (a.ints?.length) return a.ints.map((v) => String(v));
    if (a.strings?.length) return a.strings.map((s) => new TextDecoder().decode(s));
  }
  return undefined;
}

function readInputs(model: ModelProto, what: string): Pick<ModelIo, 'layout' | 'inputs' | 'width'> {
  const graph = model.graph ?? {};
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const infos = (graph.input ?? []).filter((i) => !initializers.has(i.name ?? ''));
  const inputs = infos.map((info) => {
    const elem = info.type?.tensorType?.elemType ?? 0;
    const type = ELEM[elem];
    if (!type)
      throw invalid(
        `${what}: input '${info.name}' is a ${TYPE_NAMES[elem] ?? 'non-numeric'} tensor; Keel feeds float, double or int64 inputs`,
      );
    return { name: info.name ?? '', type, shape: dims(info) };
  });
  if (inputs.length === 1) {
    const shape = inputs[0].shape;
    const width = shape?.length === 2 ? shape[1] : null;
    return { layout: 'matrix', inputs: [{ name: inputs[0].name, type: inputs[0].type }], width };
  }
  for (const i of inputs) {
    const shape = i.shape;
    if (shape && !(shape.length === 1 || (shape.length === 2 && (shape[1] === 1 || shape[1] === null))))
      throw invalid(
        `${what}: with ${inputs.length} inputs each must be one column [N, 1]; '${i.name}' is [${shape.map((d) => d ?? '?').join(', ')}]`,
      );
  }
  return {
    layout: 'columns',
    inputs: inputs.map(({ name, type }) => ({ name, type })),
    width: inputs.length,
  };
}

interface Score {
  task: ModelIo['task'];
  taskFrom: string;
  output: string;
  column: number;
  classes?: string[];
  bytes?: Uint8Array;
}

function positiveColumn(
  classes: string[] | undefined,
  positiveLabel: string | undefined,
  what: string,
): number {
  if (classes && classes.length !== 2)
    throw invalid(
      `${what} is a classifier of ${classes.length} classes (${classes.join(', ')}); Keel scores binary classifiers and regressors`,
    );
  // The positive label's column when the classes name it (text classes); else class 1's, which
  // is the second of the sorted labels, as scikit-learn's predict_proba[:, 1].
  const at = positiveLabel === undefined ? -1 : (classes?.indexOf(positiveLabel) ?? -1);
  if (at >= 0) return at;
  return classes?.indexOf('1') === 0 ? 0 : 1;
}

function findScore(model: ModelProto, what: string, positiveLabel: string | undefined): Score {
  const graph = model.graph ?? {};
  const nodes = graph.node ?? [];
  const producer = new Map<string, NodeProto>();
  for (const n of nodes) for (const o of n.output ?? []) producer.set(o, n);
  const outputs = graph.output ?? [];
  const metadata = Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key, p.value]));
  if (metadata[META_TASK] === 'binary')
    return { task: 'binary', taskFrom: `'${META_TASK}' metadata`, output: 'probabilities', column: 1 };
  if (metadata[META_TASK] === 'regression')
    return { task: 'regression', taskFrom: `'${META_TASK}' metadata`, output: 'variable', column: 0 };
  const graphClasses = nodes.map(classLabels).find((c) => c !== undefined);

  const zip = outputs.find((o) => producer.get(o.name ?? '')?.opType === 'ZipMap');
  if (zip) {
    const node = producer.get(zip.name ?? '') as NodeProto;
    const probabilities = (node.input ?? [])[0];
    const classes = classLabels(node) ?? graphClasses;
    const column = positiveColumn(classes, positiveLabel, what);
    // ONNX Runtime for Node returns no sequence of maps: the model ends at the tensor ZipMap reads.
    const cut: ModelProto = {
      ...model,
      graph: {
        ...graph,
        node: nodes.filter((n) => n !== node),
        output: outputs.map((o) =>
          o === zip
            ? {
                name: probabilities,
                type: {
                  tensorType: {
                    elemType: 1,
                    shape: { dim: [{ dimParam: 'N' }, classes ? { dimValue: classes.length } : {}] },
                  },
                },
              }
            : o,
        ),
      },
    };
    return {
      task: 'binary',
      taskFrom: `ZipMap output '${zip.name}'`,
      output: probabilities,
      column,
      classes,
      bytes: onnx.ModelProto.encode(onnx.ModelProto.create(cut)).finish(),
    };
  }
  const floats = outputs.filter((o) => o.type?.tensorType?.elemType === 1);
  if (floats.length === 0)
    throw invalid(
      `${what} has no float output to read a score from (outputs: ${outputs.map((o) => o.name).join(', ')})`,
    );
  const width = (o: ValueInfoProto) => {
    const d = dims(o);
    return d && d.length === 2 ? d[1] : d && d.length === 1 ? 1 : null;
  };
  const probabilities = floats.find((o) => {
    const w = width(o);
    return w !== null && w >= 2;
  });
  if (probabilities) {
    const w = width(probabilities) as number;
    const classes = graphClasses ?? (w === 2 ? undefined : Array.from({ length: w }, (_, i) => String(i)));
    return {
      task: 'binary',
      taskFrom: `output '${probabilities.name}' [N, ${w}]`,
      output: probabilities.name ?? '',
      column: positiveColumn(classes, positiveLabel, what),
      classes,
    };
  }
  const sigmoid = floats.find((o) => {
    let node = producer.get(o.name ?? '');
    while (node && PASS_THROUGH.has(node.opType ?? '')) node = producer.get((node.input ?? [])[0]);
    return node?.opType === 'Sigmoid';
  });
  if (sigmoid)
    return {
      task: 'binary',
      taskFrom: `output '${sigmoid.name}', a Sigmoid`,
      output: sigmoid.name ?? '',
      column: 0,
    };
  const value = floats.find((o) => o.name === 'variable') ?? floats[0];
  return {
    task: 'regression',
    taskFrom: `float output '${value.name}'`,
    output: value.name ?? '',
    column: 0,
  };
}

/**
 * Reads how to feed a model (bytes or a path) and where its score is; see the module comment.
 * `positiveLabel` picks the score's column when the classes are text.
 * @throws KeelError RESOURCE_DOES_NOT_EXIST for an unreadable path; INVALID_PARAMETER_VALUE for
 *   bytes that are not ONNX, a string input, several inputs that are not one column each, more
 *   than two classes, or no float output.
 */
export function modelIo(source: string | Uint8Array, options: { positiveLabel?: string } = {}): ModelIo {
  const what = typeof source === 'string' ? `model '${source}'` : 'the model';
  let bytes: Uint8Array;
  try {
    bytes = typeof source === 'string' ? readFileSync(source) : source;
  } catch (cause) {
    throw new KeelError('RESOURCE_DOES_NOT_EXIST', `cannot read ONNX file '${source}'`, { cause });
  }
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (cause) {
    throw new KeelError('INVALID_PARAMETER_VALUE', `${what} is not a valid ONNX model`, { cause });
  }
  const inputs = readInputs(model, what);
  const score = findScore(model, what, options.positiveLabel);
  return { ...inputs, ...score, bytes: score.bytes ?? bytes, rewritten: !!score.bytes };
}

/**
 * The input tensors for `rows` rows of row-major `values` (`width` a row): the matrix itself, or
 * one [rows, 1] tensor per column in the input's element type.
 * @throws KeelError INVALID_PARAMETER_VALUE for a missing or fractional value of an int64 input.
 */
export function inputFeeds(
  ort: Ort,
  io: ModelIo,
  values: Float32Array,
  rows: number,
  width: number,
): Record<string, Tensor> {
  const tensor = (type: InputType, data: Float32Array, shape: number[]): Tensor => {
    if (type === 'float32') return new ort.Tensor('float32', data, shape);
    if (type === 'float64') return new ort.Tensor('float64', Float64Array.from(data), shape);
    const ints = new BigInt64Array(data.length);
    for (let i = 0; i < data.length; i++) {
      if (!Number.isInteger(data[i]))
        throw invalid(
          `row ${Math.floor(i / width) + 1}: ${Number.isNaN(data[i]) ? 'a missing value' : data[i]} where the model's int64 input needs an integer`,
        );
      ints[i] = BigInt(data[i]);
    }
    return new ort.Tensor('int64', ints, shape);
  };
  if (io.layout === 'matrix')
    return { [io.inputs[0].name]: tensor(io.inputs[0].type, values, [rows, width]) };
  const feeds: Record<string, Tensor> = {};
  io.inputs.forEach((input, j) => {
    const column = new Float32Array(rows);
    for (let i = 0; i < rows; i++) column[i] = values[i * width + j];
    feeds[input.name] = tensor(input.type, column, [rows, 1]);
  });
  return feeds;
}

/** The score of each of `rows` rows: the `column` of the score output. */
export function scoresFromOutput(out: Record<string, Tensor>, io: ModelIo, rows: number): Float64Array {
  const t = out[io.output];
  const data = t.data as Float32Array | Float64Array;
  const w = t.dims.length === 2 ? Number(t.dims[1]) : 1;
  return Float64Array.from({ length: rows }, (_, i) => data[i * w + io.column]);
}
