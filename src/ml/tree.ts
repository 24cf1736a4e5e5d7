/**
 * @module ml/tree
 * One regression tree of the boosted ensemble, grown leaf-wise: the leaf whose best split gains
 * most is split next, until `maxLeaves` leaves, `maxDepth`, or no split gains enough. Rows live
 * in one index array; every node owns a contiguous range of it, partitioned in place on a split.
 */
import { KeelError } from '../core/index.js';
import {
  buildHistogram,
  findBestSplit,
  type HistogramLayout,
  noSplit,
  type Split,
  type SplitLimits,
} from './histogram.js';
import { fillGoesLeft } from './partition.js';
import type { SlotRows } from './slot-rows.js';
import type { KernelMemory } from './wasm/kernels.js';

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

/**
 * What growing trees needs besides the rows; shared by every tree of an ensemble. Every typed
 * array is a view of `memory`, where the kernels run.
 */
export interface GrowContext {
  memory: KernelMemory;
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
  /**
   * Histogram buffers reused across nodes and trees, as many as can be live at once
   * (`maxLiveHistograms`).
   */
  pool: Float64Array[];
  /** Partition buffer, as long as the training rows. */
  scratch: Uint32Array;
  /** One 256-entry bin-to-side table per split a tree can make. */
  goesLeft: Uint8Array[];
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
  const { memory, layout, slots, gh, limits } = ctx;
  const take = (): Float64Array => {
    const hist = ctx.pool.pop();
    if (!hist) throw new KeelError('INTERNAL_ERROR', 'more live histograms than maxLiveHistograms allows');
    return hist.fill(0);
  };
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

  const [g0, h0] = memory.sumRows(index, 0, index.length, gh);
  let rootHist: Float64Array | null = null;
  if (canSplit(0, index.length, h0, 1)) {
    rootHist = take();
    buildHistogram(memory, rootHist, layout, slots, index, 0, index.length, gh, g0, h0);
  }
  const open: Leaf[] = [makeLeaf(addNode(), 0, index.length, 0, g0, h0, rootHist)];
  const closed: Leaf[] = [];
  const lastSplits: LastSplit[] = [];
  let splits = 0;

  while (open.length > 0 && open.length + closed.length < ctx.maxLeaves) {
    let bi = 0;
    for (let i = 1; i < open.length; i++) if (open[i].split.gain > open[bi].split.gain) bi = i;
    const leaf = open[bi];
    open.splice(bi, 1);
    const s = leaf.split;
    if (s.feature < 0) {
      release(leaf.hist);
      leaf.hist = null;
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
    const goesLeft = fillGoesLeft(ctx.goesLeft[splits++], s, layout.binCounts[s.feature]);
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
    const mid = memory.partition(index, leaf.start, leaf.end, bins, goesLeft, ctx.scratch);
    const leftOk = canSplit(depth, mid - leaf.start, s.leftH, leaves);
    const rightOk = canSplit(depth, leaf.end - mid, rightH, leaves);
    let leftHist: Float64Array | null = null;
    let rightHist: Float64Array | null = null;
    if (leftOk || rightOk) {
      // Build the smaller child from its rows; the larger is the parent minus it.
      const leftSmaller = mid - leaf.start <= leaf.end - mid;
      const small = take();
      if (leftSmaller)
        buildHistogram(memory, small, layout, slots, index, leaf.start, mid, gh, s.leftG, s.leftH);
      else buildHistogram(memory, small, layout, slots, index, mid, leaf.end, gh, leaf.g - s.leftG, rightH);
      const parent = leaf.hist as Float64Array;
      memory.subtract(parent, small);
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

/** Adds each training row's leaf value of a grown tree to its raw score (a view of `memory`). */
export function addLeafValues(
  memory: KernelMemory,
  grown: GrownTree,
  index: Uint32Array,
  raw: Float64Array,
): void {
  const value = grown.tree.value;
  for (const [start, end, node] of grown.leafRanges) memory.addToRange(index, start, end, raw, value[node]);
  for (const { start, end, bins, goesLeft, left, right } of grown.lastSplits)
    memory.addBySide(index, start, end, bins, goesLeft, raw, value[left], value[right]);
}

/**
 * The most histograms a tree can hold at once: one per open leaf that can still split, and one
 * more while a split builds its smaller child. Such leaves are fewer than `maxLeaves`, sit above
 * `maxDepth` (an antichain of a binary tree of depth `maxDepth - 1`: at most 2^(maxDepth-1)), and
 * own disjoint ranges of at least 2 * minSamplesLeaf rows.
 */
export function maxLiveHistograms(
  rows: number,
  maxLeaves: number,
  maxDepth: number,
  minSamplesLeaf: number,
): number {
  const splittable = Math.min(
    maxLeaves - 1,
    2 ** (maxDepth - 1),
    Math.floor(rows / (2 * Math.max(1, minSamplesLeaf))),
  );
  return Math.max(1, splittable) + 1;
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
