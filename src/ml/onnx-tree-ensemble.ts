/**
 * @module ml/onnx-tree-ensemble
 * Trees with categorical (set membership) splits, as the `ai.onnx.ml` opset-5 `TreeEnsemble` op:
 * interior nodes and leaves are listed apart, a membership node has mode 6 (BRANCH_MEMBER) and
 * its set in `membership_values` (sets in node order, each ended by NaN). The op outputs the raw
 * sum [N, 1]; an Add puts the base score on, then the classifier tail or `variable` follows.
 */
import type { GbdtModel } from './gbdt.js';
import { type Graph, node, probabilityTail } from './onnx-graph.js';
import {
  type AttributeProto,
  attr,
  FLOAT,
  floatTensor,
  onnx,
  type TensorProto,
  tensorInfo,
} from './onnx-proto.js';

const MODE_LEQ = 0;
const MODE_MEMBER = 6;
const UINT8 = 2;

/** Does any tree of the model split a category set (so the opset-5 op is needed)? */
export const hasSetSplits = (model: GbdtModel): boolean =>
  model.trees.some((t) => t.categories.some((c) => c !== null));

const tensorAttr = (name: string, t: TensorProto): AttributeProto => ({
  name,
  type: onnx.AttributeProto.AttributeType.TENSOR,
  t,
});

export function treeEnsembleGraph(model: GbdtModel, input: string): Graph {
  const n = {
    feature: [] as number[],
    split: [] as number[],
    mode: [] as number[],
    trueId: [] as number[],
    trueLeaf: [] as number[],
  };
  const falseSide = { id: [] as number[], leaf: [] as number[] };
  const missingTrue: number[] = [];
  const members: number[] = [];
  const leafWeights: number[] = [];
  const roots: number[] = [];
  for (const tree of model.trees) {
    // Ids of this tree's interior nodes and leaves in the op's flat lists.
    const interior = new Map<number, number>();
    const leaf = new Map<number, number>();
    tree.feature.forEach((f, i) => {
      if (f >= 0) interior.set(i, interior.size + n.feature.length);
      else leaf.set(i, leafWeights.length + leaf.size);
    });
    for (const [i, id] of leaf) leafWeights[id] = tree.value[i];
    const ref = (child: number): [number, number] =>
      leaf.has(child) ? [leaf.get(child)!, 1] : [interior.get(child)!, 0];
    if (interior.size === 0) {
      // A one-leaf tree: the op needs an interior root, so both branches of a dummy test reach the leaf.
      roots.push(n.feature.length);
      n.feature.push(0);
      n.split.push(0);
      n.mode.push(MODE_LEQ);
      n.trueId.push(leaf.get(0)!);
      n.trueLeaf.push(1);
      falseSide.id.push(leaf.get(0)!);
      falseSide.leaf.push(1);
      missingTrue.push(1);
      continue;
    }
    roots.push(interior.get(0)!);
    for (const i of interior.keys()) {
      const set = tree.categories[i];
      n.feature.push(tree.feature[i]);
      n.split.push(set ? 0 : tree.threshold[i]);
      n.mode.push(set ? MODE_MEMBER : MODE_LEQ);
      const [t, tl] = ref(tree.left[i]);
      const [fId, fl] = ref(tree.right[i]);
      n.trueId.push(t);
      n.trueLeaf.push(tl);
      falseSide.id.push(fId);
      falseSide.leaf.push(fl);
      missingTrue.push(tree.defaultLeft[i] ? 1 : 0);
      if (set) members.push(...set, Number.NaN);
    }
  }
  const attributes: AttributeProto[] = [
    attr('n_targets', 1, 'int'),
    attr('aggregate_function', 1, 'int'),
    attr('post_transform', 0, 'int'),
    attr('tree_roots', roots, 'int'),
    attr('nodes_featureids', n.feature, 'int'),
    tensorAttr('nodes_splits', floatTensor('nodes_splits', [n.split.length], n.split)),
    tensorAttr('nodes_modes', {
      name: 'nodes_modes',
      dataType: UINT8,
      dims: [n.mode.length],
      rawData: Uint8Array.from(n.mode),
    }),
    attr('nodes_truenodeids', n.trueId, 'int'),
    attr('nodes_trueleafs', n.trueLeaf, 'int'),
    attr('nodes_falsenodeids', falseSide.id, 'int'),
    attr('nodes_falseleafs', falseSide.leaf, 'int'),
    attr('nodes_missing_value_tracks_true', missingTrue, 'int'),
    attr(
      'leaf_targetids',
      leafWeights.map(() => 0),
      'int',
    ),
    tensorAttr('leaf_weights', floatTensor('leaf_weights', [leafWeights.length], leafWeights)),
  ];
  if (members.length > 0)
    attributes.push(
      tensorAttr('membership_values', floatTensor('membership_values', [members.length], members)),
    );
  const trees = node('TreeEnsemble', [input], ['tree_sum'], attributes, 'ai.onnx.ml');
  const base = floatTensor('base_score', [1], [model.baseScore]);
  if (model.objective === 'regression') {
    return {
      nodes: [trees, node('Add', ['tree_sum', 'base_score'], ['variable'])],
      initializers: [base],
      outputs: [tensorInfo('variable', FLOAT, ['N', 1])],
    };
  }
  const tail = probabilityTail('logit');
  return {
    nodes: [trees, node('Add', ['tree_sum', 'base_score'], ['logit']), ...tail.nodes],
    initializers: [base, ...tail.initializers],
    outputs: tail.outputs,
  };
}
