/**
 * @module ml/gbdt
 * Histogram gradient-boosted trees for binary classification and regression, in the manner of
 * xgboost's `hist` and LightGBM: quantile bins, second-order leaf values with L2, leaf-wise trees,
 * row and column subsampling, early stopping, a learned direction for missing values. Same data,
 * same params, same seed: same model, bit for bit.
 */
import { z } from 'zod';
import { KeelError, parseInput, strictObject } from '../core/index.js';
import { binColumn, fitBinBounds } from './binning.js';
import {
  checkTrainingData,
  type FeatureMatrix,
  rowCount,
  sampleWeights,
  splitRows,
  takeRows,
  takeValues,
} from './dataset.js';
import { histogramLayout } from './histogram.js';
import {
  baseScore,
  evalLoss,
  gradients,
  type IterationMetrics,
  lossName,
  type Objective,
  sigmoid,
} from './objective.js';
import { Rng } from './random.js';
import { slotRows } from './slot-rows.js';
import { trainingMemory } from './training-memory.js';
import { addLeafValues, type GrowContext, growTree, leafOf, type Tree } from './tree.js';

const classWeightSchema = z.union([
  z.literal('balanced'),
  z.object({ 0: z.number().positive(), 1: z.number().positive() }),
]);

/** GBDT parameters; every field has a default. */
export const gbdtParamsSchema = strictObject({
  objective: z.enum(['binary', 'regression']).default('binary'),
  /** Boosting rounds (trees). */
  iterations: z.number().int().min(1).max(100_000).default(100),
  learningRate: z.number().positive().max(1).default(0.1),
  maxLeaves: z.number().int().min(2).max(65_536).default(31),
  maxDepth: z.number().int().min(1).max(64).default(8),
  minSamplesLeaf: z.number().int().min(1).default(20),
  /** Smallest hessian sum of a child (xgboost's `min_child_weight`). */
  minChildWeight: z.number().min(0).default(1e-3),
  /** L2 penalty on leaf values (xgboost's `lambda`). */
  l2: z.number().min(0).default(1),
  /** Smallest gain that makes a split (xgboost's `gamma`). */
  minSplitGain: z.number().min(0).default(0),
  maxBins: z.number().int().min(2).max(255).default(255),
  /** Fraction of rows each tree is grown on, drawn without replacement. */
  subsample: z.number().gt(0).max(1).default(1),
  /** Fraction of features each tree may split on. */
  colsample: z.number().gt(0).max(1).default(1),
  /** Stop when the validation loss has not improved for this many rounds; keep the best round. */
  earlyStoppingRounds: z.number().int().min(1).optional(),
  /** Fraction of the training rows held out for validation when no validation set is given. */
  validationFraction: z.number().gt(0).lt(1).optional(),
  classWeight: classWeightSchema.optional(),
  seed: z.number().int().default(0),
});

export type GbdtParams = z.output<typeof gbdtParamsSchema>;
export type GbdtParamsInput = z.input<typeof gbdtParamsSchema>;

/** A trained ensemble: plain data, JSON-serialisable. */
export interface GbdtModel {
  kind: 'gbdt';
  objective: Objective;
  featureNames: string[];
  /** Raw score every row starts from (float32). */
  baseScore: number;
  trees: Tree[];
  params: GbdtParams;
  /** Per feature: total gain of its splits, and how many splits use it. */
  importance: { gain: number[]; split: number[] };
  history: IterationMetrics[];
  /** Things the caller should know, e.g. features that can never be split. */
  warnings: string[];
}

export interface TrainOptions {
  /**
   * Features holding category codes (0, 1, 2, ...; NaN = missing) to split by set membership.
   * One with more distinct codes than `maxBins` is split by order instead, with a warning.
   */
  categorical?: readonly string[];
  /** Held-out rows for the loss per iteration and early stopping. */
  validation?: { x: FeatureMatrix; y: Float64Array };
  onIteration?: (metrics: IterationMetrics) => void;
}

/**
 * Trains a boosted ensemble. A constant (or all-missing) feature is kept in the model, so its
 * input shape is the one given, but can never be split; a warning names it.
 * @throws KeelError INVALID_PARAMETER_VALUE for bad params or mismatched data.
 * @throws KeelError DATA_VALIDATION_FAILED for NaN labels or non-binary labels of a classifier.
 */
export function trainGbdt(
  x: FeatureMatrix,
  y: Float64Array,
  params: GbdtParamsInput,
  options: TrainOptions = {},
): GbdtModel {
  const p = parseInput(gbdtParamsSchema, params, 'GBDT params');
  checkTrainingData(x, y, p.objective === 'binary');
  let train = { x, y };
  let valid = options.validation;
  if (!valid && (p.validationFraction !== undefined || p.earlyStoppingRounds !== undefined)) {
    const parts = splitRows(y.length, p.validationFraction ?? 0.1, p.seed);
    valid = { x: takeRows(x, parts.held), y: takeValues(y, parts.held) };
    train = { x: takeRows(x, parts.train), y: takeValues(y, parts.train) };
  }
  const nf = x.columns.length;
  const n = train.y.length;
  const bounds = train.x.columns.map((c) => fitBinBounds(c, p.maxBins));
  const binCounts = Int32Array.from(bounds, (b) => b.length);
  const splittable = Int32Array.from([...binCounts.keys()].filter((f) => binCounts[f] >= 2));
  const warnings = [...binCounts.keys()]
    .filter((f) => binCounts[f] < 2)
    .map(
      (f) =>
        `feature '${x.names[f]}' is constant or missing in every training row: it is kept but never split`,
    );
  // Row counts are needed only to enforce min_samples_leaf (or to keep children non-empty
  // when no hessian floor does).
  const categorical = new Uint8Array(nf);
  for (const name of options.categorical ?? []) {
    const f = x.names.indexOf(name);
    if (f < 0)
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `categorical feature '${name}' is not among the features`,
      );
    const distinct = new Set(train.x.columns[f].filter((v) => !Number.isNaN(v))).size;
    if (distinct <= p.maxBins) categorical[f] = 1;
    else
      warnings.push(
        `categorical feature '${name}' has ${distinct} categories (> maxBins ${p.maxBins}): split by code order`,
      );
  }
  const layout = histogramLayout(binCounts, p.minSamplesLeaf > 1 || p.minChildWeight <= 0, categorical);
  const binColumns = train.x.columns.map((c, f) => binColumn(c, bounds[f]));
  const sampleSize = Math.max(1, Math.round(n * p.subsample));
  const weights = sampleWeights(train.y, p.classWeight);
  const mem = trainingMemory(
    layout,
    slotRows(binColumns, layout),
    binColumns,
    train.y,
    weights,
    p,
    sampleSize,
  );
  const w = mem.w;
  const base = Math.fround(baseScore(p.objective, mem.y, w));
  const raw = mem.raw.fill(base);
  const validRaw = valid ? new Float64Array(valid.y.length).fill(base) : undefined;
  const gh = mem.gh;
  const importanceGain = new Float64Array(nf);
  const importanceSplit = new Float64Array(nf);
  const ctx: GrowContext = {
    memory: mem.memory,
    slots: mem.slots,
    binColumns: mem.binColumns,
    layout,
    bounds,
    pool: mem.pool,
    scratch: mem.scratch,
    goesLeft: mem.goesLeft,
    gh,
    limits: {
      l2: p.l2,
      minSamplesLeaf: p.minSamplesLeaf,
      minChildWeight: p.minChildWeight,
      minSplitGain: p.minSplitGain,
    },
    maxLeaves: p.maxLeaves,
    maxDepth: p.maxDepth,
    learningRate: p.learningRate,
    importanceGain,
    importanceSplit,
  };
  const allRows = Uint32Array.from({ length: n }, (_, i) => i);
  const rng = new Rng(p.seed);
  const trees: Tree[] = [];
  const history: IterationMetrics[] = [];
  const metric = lossName(p.objective);
  let best = { loss: Number.POSITIVE_INFINITY, iteration: -1 };
  const featureCount = Math.max(1, Math.round(splittable.length * p.colsample));

  // An iteration's training loss comes from the next iteration's gradient pass (same exponentials),
  // so each entry is reported one pass late, and the last one after the loop.
  let pending: IterationMetrics | undefined;
  const report = (entry: IterationMetrics, trainLoss: number) => {
    entry.train = trainLoss;
    history.push(entry);
    options.onIteration?.(entry);
  };
  for (let it = 0; it < p.iterations; it++) {
    const loss = gradients(ctx.memory, p.objective, mem.y, w, raw, gh);
    if (pending) report(pending, loss);
    const sampled = sampleSize < n ? rng.sample(n, sampleSize) : undefined;
    // Rows in increasing order keep the histogram kernel's reads sequential.
    const index = mem.index.subarray(0, sampleSize);
    index.set(sampled ?? allRows);
    const features =
      featureCount < splittable.length
        ? Int32Array.from(rng.sample(splittable.length, featureCount), (k) => splittable[k])
        : splittable;
    const grown = growTree(ctx, index, features);
    const tree = grown.tree;
    trees.push(tree);
    addLeafValues(ctx.memory, grown, index, raw);
    if (sampled) addTreeOutsideSample(tree, train.x, raw, sampled);
    pending = { iteration: it, metric, train: Number.NaN };
    if (valid && validRaw) {
      addTree(tree, valid.x, validRaw);
      pending.validation = evalLoss(p.objective, valid.y, validRaw);
      if (pending.validation < best.loss) best = { loss: pending.validation, iteration: it };
    }
    if (p.earlyStoppingRounds !== undefined && it - best.iteration >= p.earlyStoppingRounds) break;
  }
  if (pending) report(pending, evalLoss(p.objective, train.y, raw));
  if (p.earlyStoppingRounds !== undefined && best.iteration >= 0) trees.length = best.iteration + 1;
  return {
    kind: 'gbdt',
    objective: p.objective,
    featureNames: [...x.names],
    baseScore: base,
    trees,
    params: p,
    importance: { gain: Array.from(importanceGain), split: Array.from(importanceSplit) },
    history,
    warnings,
  };
}

function addTree(tree: Tree, x: FeatureMatrix, raw: Float64Array): void {
  const cols = x.columns;
  for (let r = 0; r < raw.length; r++) raw[r] += tree.value[leafOf(tree, cols, r)];
}

function addTreeOutsideSample(tree: Tree, x: FeatureMatrix, raw: Float64Array, sampled: Uint32Array): void {
  const cols = x.columns;
  let k = 0;
  for (let r = 0; r < raw.length; r++) {
    if (k < sampled.length && sampled[k] === r) {
      k++;
      continue;
    }
    raw[r] += tree.value[leafOf(tree, cols, r)];
  }
}

/**
 * Raw scores (log-odds or values) of rows, summed in float32 in tree order as ONNX Runtime's tree
 * ops do, so the exported model agrees to float32 precision.
 */
export function predictGbdtRaw(model: GbdtModel, x: FeatureMatrix): Float64Array {
  const n = rowCount(x);
  const cols = x.columns;
  const out = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (const tree of model.trees) s = Math.fround(s + tree.value[leafOf(tree, cols, r)]);
    out[r] = Math.fround(s + model.baseScore);
  }
  return out;
}

/** Probabilities of class 1 (binary) or predicted values (regression). */
export function predictGbdt(model: GbdtModel, x: FeatureMatrix): Float64Array {
  const raw = predictGbdtRaw(model, x);
  if (model.objective === 'binary') for (let i = 0; i < raw.length; i++) raw[i] = sigmoid(raw[i]);
  return raw;
}
