/**
 * @module ml/onnx-export
 * Writes Keel's models as ONNX. The input is one float tensor `input` of shape [N, F], with the
 * feature names, in column order, recorded in the model's metadata (`keel.feature_names`): one
 * tensor keeps batch scoring a single copy, and the names travel with the file. Classifiers
 * output `label` (int64 [N]) and `probabilities` (float [N, 2]); regressors output `variable`
 * (float [N, 1]). Trees become `ai.onnx.ml` TreeEnsembleClassifier/Regressor (opset 3), or the
 * opset-5 TreeEnsemble when they split category sets; logistic regression becomes Imputer,
 * MatMul, Add and Sigmoid.
 */
import type { GbdtModel } from './gbdt.js';
import type { LogisticModel } from './logistic.js';
import { classifierOutputs, type Graph, node, probabilityTail } from './onnx-graph.js';
import { attr, encodeModel, FLOAT, floatTensor, type ModelProto, tensorInfo } from './onnx-proto.js';
import { hasSetSplits, treeEnsembleGraph } from './onnx-tree-ensemble.js';

/** Name of the single input tensor. */
export const ONNX_INPUT = 'input';
/** Metadata keys Keel writes. */
export const META_FEATURES = 'keel.feature_names';
export const META_KIND = 'keel.model_kind';
export const META_TASK = 'keel.task';
/** What the loader needs to encode new data as at training: category lists, target, positive label. */
export const META_CATEGORIES = 'keel.categories';
export const META_TARGET = 'keel.target';
export const META_POSITIVE = 'keel.positive_label';

const IR_VERSION = 8;
const OPSETS = [
  { domain: '', version: 15 },
  { domain: 'ai.onnx.ml', version: 3 },
];
// The TreeEnsemble op (set membership splits) needs ai.onnx.ml 5, which comes with opset 21 / IR 10.
const IR_VERSION_SETS = 10;
const OPSETS_SETS = [
  { domain: '', version: 21 },
  { domain: 'ai.onnx.ml', version: 5 },
];

export interface ExportOptions {
  /** Extra metadata entries (e.g. category codes of string features). */
  metadata?: Record<string, string>;
  /** Model name stored as the graph name. Default `keel_model`. */
  name?: string;
}

/** The ONNX bytes of a trained model. */
export function exportOnnx(model: GbdtModel | LogisticModel, options: ExportOptions = {}): Uint8Array {
  const sets = model.kind === 'gbdt' && hasSetSplits(model);
  const graph =
    model.kind === 'logistic'
      ? logisticGraph(model)
      : sets
        ? treeEnsembleGraph(model, ONNX_INPUT)
        : treeGraph(model);
  const task = model.kind === 'gbdt' && model.objective === 'regression' ? 'regression' : 'binary';
  const metadata: Record<string, string> = {
    [META_FEATURES]: JSON.stringify(model.featureNames),
    [META_KIND]: model.kind,
    [META_TASK]: task,
    ...options.metadata,
  };
  const proto: ModelProto = {
    irVersion: sets ? IR_VERSION_SETS : IR_VERSION,
    producerName: 'keel',
    producerVersion: '0.1.0',
    opsetImport: sets ? OPSETS_SETS : OPSETS,
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: options.name ?? 'keel_model',
      node: graph.nodes,
      initializer: graph.initializers,
      input: [tensorInfo(ONNX_INPUT, FLOAT, ['N', model.featureNames.length])],
      output: graph.outputs,
    },
  };
  return encodeModel(proto);
}

function treeGraph(model: GbdtModel): Graph {
  const n = {
    treeIds: [] as number[],
    nodeIds: [] as number[],
    featureIds: [] as number[],
    values: [] as number[],
    modes: [] as string[],
    trueIds: [] as number[],
    falseIds: [] as number[],
    missingTrue: [] as number[],
  };
  const leaves = { treeIds: [] as number[], nodeIds: [] as number[], weights: [] as number[] };
  model.trees.forEach((tree, t) => {
    for (let i = 0; i < tree.feature.length; i++) {
      const leaf = tree.feature[i] < 0;
      n.treeIds.push(t);
      n.nodeIds.push(i);
      n.featureIds.push(leaf ? 0 : tree.feature[i]);
      n.values.push(leaf ? 0 : tree.threshold[i]);
      n.modes.push(leaf ? 'LEAF' : 'BRANCH_LEQ');
      n.trueIds.push(leaf ? 0 : tree.left[i]);
      n.falseIds.push(leaf ? 0 : tree.right[i]);
      n.missingTrue.push(!leaf && tree.defaultLeft[i] ? 1 : 0);
      if (leaf) {
        leaves.treeIds.push(t);
        leaves.nodeIds.push(i);
        leaves.weights.push(tree.value[i]);
      }
    }
  });
  const common = [
    attr('nodes_treeids', n.treeIds, 'int'),
    attr('nodes_nodeids', n.nodeIds, 'int'),
    attr('nodes_featureids', n.featureIds, 'int'),
    attr('nodes_values', n.values),
    attr('nodes_modes', n.modes),
    attr('nodes_truenodeids', n.trueIds, 'int'),
    attr('nodes_falsenodeids', n.falseIds, 'int'),
    attr('nodes_missing_value_tracks_true', n.missingTrue, 'int'),
    attr('base_values', [model.baseScore]),
  ];
  const zeros = leaves.weights.map(() => 0);
  if (model.objective === 'regression') {
    return {
      nodes: [
        {
          opType: 'TreeEnsembleRegressor',
          domain: 'ai.onnx.ml',
          name: 'trees',
          input: [ONNX_INPUT],
          output: ['variable'],
          attribute: [
            ...common,
            attr('n_targets', 1, 'int'),
            attr('target_treeids', leaves.treeIds, 'int'),
            attr('target_nodeids', leaves.nodeIds, 'int'),
            attr('target_ids', zeros, 'int'),
            attr('target_weights', leaves.weights),
            attr('post_transform', 'NONE'),
          ],
        },
      ],
      initializers: [],
      outputs: [tensorInfo('variable', FLOAT, ['N', 1])],
    };
  }
  return {
    nodes: [
      {
        opType: 'TreeEnsembleClassifier',
        domain: 'ai.onnx.ml',
        name: 'trees',
        input: [ONNX_INPUT],
        output: ['label', 'probabilities'],
        attribute: [
          ...common,
          // Binary: one weight per leaf for class 0; ONNX Runtime then returns [1 - p, p].
          attr('class_treeids', leaves.treeIds, 'int'),
          attr('class_nodeids', leaves.nodeIds, 'int'),
          attr('class_ids', zeros, 'int'),
          attr('class_weights', leaves.weights),
          attr('classlabels_int64s', [0, 1], 'int'),
          attr('post_transform', 'LOGISTIC'),
        ],
      },
    ],
    initializers: [],
    outputs: classifierOutputs(),
  };
}

function logisticGraph(model: LogisticModel): Graph {
  const f = model.weights.length;
  const tail = probabilityTail('logit');
  return {
    nodes: [
      node(
        'Imputer',
        [ONNX_INPUT],
        ['imputed'],
        [attr('imputed_value_floats', model.means), attr('replaced_value_float', Number.NaN)],
        'ai.onnx.ml',
      ),
      node('MatMul', ['imputed', 'weights'], ['product']),
      node('Add', ['product', 'intercept'], ['logit']),
      ...tail.nodes,
    ],
    initializers: [
      floatTensor('weights', [f, 1], model.weights),
      floatTensor('intercept', [1], [model.intercept]),
      ...tail.initializers,
    ],
    outputs: tail.outputs,
  };
}
