/**
 * @module ml/tree
 * One regression tree of the boosted ensemble, grown leaf-wise: the leaf whose best split gains
 * most is split next, until `maxLeaves` leaves, `maxDepth`, or no split gains enough. Rows live
 * in one index array; every node owns a contiguous range of it, partitioned in place on a split.
 */
import {
  buildHistogram,
  findBestSplit,
  type HistogramLayout,
  noSplit,
  type Split,
  type SplitLimits,
  subtractHistogram,
} from './histogram.js';
import { goesLeftTable, partitionRange } from './partition.js';
import { type SlotRows, sinkSlot } from './slot-rows.js';

/**
 * A tree in flat arrays (index 0 is the root). An inner node sends a row left when its value, in
 * float32, is at most `threshold` (or, on a categorical split, is one of `categories`), or when it
 * is missing and `defaultLeft` is set. Leaves have
 * `feature` -1 and a float32 `value`.
 */
export interface Tree {
  feature: number[];
  threshold: number[];
  /** For a categorical split: the category codes that go left (others go right); else null. */
  categories: Array<number[] | null>;
  defaultLeft: boolean[];
  left: number[];
  right: number[];
  value: number[];
}

/** What growing trees needs besides the rows; shared by every tree of an ensemble. */
export interface GrowContext {
  /** The rows' histogram slots, from `slotRows`. */
  slots: SlotRows;
  /** The same bins column by column, for partitioning a node on one feature. */
  binColumns: readonly Uint8Array[];
  layout: HistogramLayout;
  bounds: readonly Float64Array[];
  /** Gradient and hessian of each row, interleaved. */
  gh: Float64Array;
  limits: SplitLimits;
  maxLeaves: number;
  maxDepth: number;
  learningRate: number;
  /** Gain and split count per feature, added to as splits are made. */
  importanceGain: Float64Array;
  importanceSplit: Float64Array;
  /** Histogram buffers reused across nodes and trees. */
  pool: Float64Array[];
  /** Partition buffer, as long as the training rows. */
  scratch: Uint32Array;
}

interface Leaf {
  node: number;
  start: number;
  end: number;
  depth: number;
  g: number;
  h: number;
  /** Null for a leaf that can never split: its histogram is never built. */
  hist: Float64Array | null;
  split: Split;
}

/**
 * A grown tree and where its training rows went, so predictions update without walking the tree:
 * each leaf's row range of `index`, and, for each last split (its children can never split), the
 * range it was split from, left unpartitioned because nothing but the scores needs its rows.
 */
export interface GrownTree {
  tree: Tree;
  leafRanges: Array<[start: number, end: number, node: number]>;
  lastSplits: LastSplit[];
}

/** A row range whose rows go to `left` when `goesLeft[bins[row]]` is 1, else to `right`. */
interface LastSplit {
  start: number;
  end: number;
  bins: Uint8Array;
  goesLeft: Uint8Array;
  left: number;
  right: number;
}

/** Grows one tree on the rows `index` (reordered in place). */
export function growTree(ctx: GrowContext, index: Uint32Array, features: Int32Array): GrownTree {
  const tree: Tree = {
    feature: [],
    threshold: [],
    categories: [],
    defaultLeft: [],
    left: [],
    right: [],
    value: [],
  };
  const addNode = (): number => {
    tree.feature.push(-1);
    tree.threshold.push(0);
    tree.categories.push(null);
    tree.defaultLeft.push(false);
    tree.left.push(-1);
    tree.right.push(-1);
    tree.value.push(0);
    return tree.feature.length - 1;
  };
  const { layout, slots, gh, limits } = ctx;
  const histSize = sinkSlot(layout) + layout.stride;
  const take = (): Float64Array => ctx.pool.pop()?.fill(0) ?? new Float64Array(histSize);
  const release = (hist: Float64Array | null) => {
    if (hist) ctx.pool.push(hist);
  };
  // A node that cannot split (too deep, too small, or no leaf budget left) needs no histogram.
  const canSplit = (depth: number, rows: number, h: number, leaves: number) =>
    depth < ctx.maxDepth &&
    leaves < ctx.maxLeaves &&
    rows >= 2 * Math.max(1, limits.minSamplesLeaf) &&
    h >= 2 * limits.minChildWeight;
  const makeLeaf = (
    node: number,
    start: number,
    end: number,
    depth: number,
    g: number,
    h: number,
    hist: Float64Array | null,
  ): Leaf => ({
    node,
    start,
    end,
    depth,
    g,
    h,
    hist,
    split: hist ? findBestSplit(hist, layout, features, g, h, end - start, limits) : noSplit(),
  });

  let g0 = 0;
  let h0 = 0;
  for (let i = 0; i < index.length; i++) {
    g0 += gh[2 * index[i]];
    h0 += gh[2 * index[i] + 1];
  }
  let rootHist: Float64Array | null = null;
  if (canSplit(0, index.length, h0, 1)) {
    rootHist = take();
    buildHistogram(rootHist, layout, slots, index, 0, index.length, gh, g0, h0);
  }
  const open: Leaf[] = [makeLeaf(addNode(), 0, index.length, 0, g0, h0, rootHist)];
  const closed: Leaf[] = [];
  const lastSplits: LastSplit[] = [];

  while (open.length > 0 && open.length + closed.length < ctx.maxLeaves) {
    let bi = 0;
    for (let i = 1; i < open.length; i++) if (open[i].split.gain > open[bi].split.gain) bi = i;
    const leaf = open[bi];
    open.splice(bi, 1);
    const s = leaf.split;
    if (s.feature < 0) {
      closed.push(leaf);
      continue;
    }
    const leftNode = addNode();
    const rightNode = addNode();
    tree.feature[leaf.node] = s.feature;
    const bounds = ctx.bounds[s.feature];
    if (s.leftBins) tree.categories[leaf.node] = s.leftBins.map((b) => bounds[b]);
    else tree.threshold[leaf.node] = bounds[s.bin];
    tree.defaultLeft[leaf.node] = s.missingLeft;
    tree.left[leaf.node] = leftNode;
    tree.right[leaf.node] = rightNode;
    ctx.importanceGain[s.feature] += s.gain;
    ctx.importanceSplit[s.feature] += 1;

    const depth = leaf.depth + 1;
    const leaves = open.length + closed.length + 2;
    const rightH = leaf.h - s.leftH;
    const goesLeft = goesLeftTable(s, layout.binCounts[s.feature]);
    const bins = ctx.binColumns[s.feature];
    if (depth >= ctx.maxDepth || leaves >= ctx.maxLeaves) {
      // Neither child can split: skip the partition (a sixth of it in a depth-6 tree) and let
      // the score update route these rows. The children hold empty ranges.
      release(leaf.hist);
      lastSplits.push({ start: leaf.start, end: leaf.end, bins, goesLeft, left: leftNode, right: rightNode });
      closed.push(
        makeLeaf(leftNode, leaf.start, leaf.start, depth, s.leftG, s.leftH, null),
        makeLeaf(rightNode, leaf.start, leaf.start, depth, leaf.g - s.leftG, rightH, null),
      );
      continue;
    }
    const mid = partitionRange(index, leaf.start, leaf.end, bins, goesLeft, ctx.scratch);
    const leftOk = canSplit(depth, mid - leaf.start, s.leftH, leaves);
    const rightOk = canSplit(depth, leaf.end - mid, rightH, leaves);
    let leftHist: Float64Array | null = null;
    let rightHist: Float64Array | null = null;
    if (leftOk || rightOk) {
      // Build the smaller child from its rows; the larger is the parent minus it.
      const leftSmaller = mid - leaf.start <= leaf.end - mid;
      const small = take();
      if (leftSmaller) buildHistogram(small, layout, slots, index, leaf.start, mid, gh, s.leftG, s.leftH);
      else buildHistogram(small, layout, slots, index, mid, leaf.end, gh, leaf.g - s.leftG, rightH);
      const parent = leaf.hist as Float64Array;
      subtractHistogram(parent, small);
      [leftHist, rightHist] = leftSmaller ? [small, parent] : [parent, small];
      if (!leftOk) {
        release(leftHist);
        leftHist = null;
      }
      if (!rightOk) {
        release(rightHist);
        rightHist = null;
      }
    } else release(leaf.hist);
    open.push(
      makeLeaf(leftNode, leaf.start, mid, depth, s.leftG, s.leftH, leftHist),
      makeLeaf(rightNode, mid, leaf.end, depth, leaf.g - s.leftG, rightH, rightHist),
    );
  }
  const leafRanges: Array<[number, number, number]> = [];
  for (const leaf of open.concat(closed)) {
    tree.value[leaf.node] = Math.fround((-ctx.learningRate * leaf.g) / (leaf.h + limits.l2));
    if (leaf.end > leaf.start) leafRanges.push([leaf.start, leaf.end, leaf.node]);
    release(leaf.hist);
  }
  return { tree, leafRanges, lastSplits };
}

/** Adds each training row's leaf value of a grown tree to its raw score. */
export function addLeafValues(grown: GrownTree, index: Uint32Array, raw: Float64Array): void {
  const value = grown.tree.value;
  for (const [start, end, node] of grown.leafRanges) addToRange(index, start, end, value[node], raw);
  // [right value, left value], picked by the 0/1 table entry: the side is data-dependent, so a
  // branch would mispredict, and `vr + (vl - vr) * left` would not round to `vl` exactly.
  const sides = new Float64Array(2);
  for (const { start, end, bins, goesLeft, left, right } of grown.lastSplits) {
    sides[0] = value[right];
    sides[1] = value[left];
    addBySide(index, start, end, bins, goesLeft, sides, raw);
  }
}

function addToRange(index: Uint32Array, start: number, end: number, v: number, raw: Float64Array): void {
  for (let i = start; i < end; i++) raw[index[i]] += v;
}

function addBySide(
  index: Uint32Array,
  start: number,
  end: number,
  bins: Uint8Array,
  goesLeft: Uint8Array,
  sides: Float64Array,
  raw: Float64Array,
): void {
  for (let i = start; i < end; i++) {
    const row = index[i];
    raw[row] += sides[goesLeft[bins[row]]];
  }
}

/** The leaf a row reaches, from its raw feature values (NaN = missing). */
export function leafOf(tree: Tree, cols: readonly Float64Array[], row: number): number {
  let node = 0;
  while (tree.feature[node] >= 0) {
    const v = cols[tree.feature[node]][row];
    const set = tree.categories[node];
    const goLeft = Number.isNaN(v)
      ? tree.defaultLeft[node]
      : set
        ? set.includes(Math.fround(v))
        : Math.fround(v) <= tree.threshold[node];
    node = goLeft ? tree.left[node] : tree.right[node];
  }
  return node;
}
