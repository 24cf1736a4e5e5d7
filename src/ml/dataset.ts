/**
 * @module ml/dataset
 * The in-memory shape every trainer and metric reads: one Float64Array per feature (NaN = missing)
 * and a Float64Array of labels. Columns, not row objects, so a 1M-row table is a few flat buffers.
 */
import { KeelError } from '../core/index.js';
import { Rng } from './random.js';

/** Feature columns of equal length; NaN marks a missing value. */
export interface FeatureMatrix {
  readonly names: readonly string[];
  readonly columns: readonly Float64Array[];
}

/** Number of rows of a matrix (0 when it has no columns). */
export function rowCount(x: FeatureMatrix): number {
  return x.columns.length === 0 ? 0 : x.columns[0].length;
}

/**
 * Checks that a matrix and its labels line up and that labels are usable.
 * @throws KeelError INVALID_PARAMETER_VALUE on mismatched lengths, no rows, or no features.
 * @throws KeelError DATA_VALIDATION_FAILED when labels hold NaN (naming the count) or, for a
 *   binary task, a value other than 0 and 1.
 */
export function checkTrainingData(x: FeatureMatrix, y: Float64Array, binary: boolean): void {
  if (x.columns.length === 0 || x.columns.length !== x.names.length) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `training data needs at least one feature and one name per column (got ${x.columns.length} columns, ${x.names.length} names)`,
    );
  }
  const n = y.length;
  if (n === 0) throw new KeelError('INVALID_PARAMETER_VALUE', 'training data has no rows');
  x.columns.forEach((c, i) => {
    if (c.length !== n) {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `feature '${x.names[i]}' has ${c.length} rows but the labels have ${n}`,
      );
    }
  });
  let nan = 0;
  let other = 0;
  for (let i = 0; i < n; i++) {
    const v = y[i];
    if (Number.isNaN(v)) nan++;
    else if (binary && v !== 0 && v !== 1) other++;
  }
  if (nan > 0) {
    throw new KeelError('DATA_VALIDATION_FAILED', `${nan} of ${n} labels are missing (NaN)`, {
      details: { missingLabels: nan },
    });
  }
  if (other > 0) {
    throw new KeelError('DATA_VALIDATION_FAILED', `${other} of ${n} labels are neither 0 nor 1`, {
      details: { invalidLabels: other },
    });
  }
}

/** The rows `index` of a matrix, as a new matrix. */
export function takeRows(x: FeatureMatrix, index: ArrayLike<number>): FeatureMatrix {
  return { names: x.names, columns: x.columns.map((c) => takeValues(c, index)) };
}

/** The values at `index` of one column. */
export function takeValues(values: Float64Array, index: ArrayLike<number>): Float64Array {
  const out = new Float64Array(index.length);
  for (let i = 0; i < index.length; i++) out[i] = values[index[i]];
  return out;
}

/** A seeded split of `n` rows into training and held-out indices (`fraction` held out). */
export function splitRows(
  n: number,
  fraction: number,
  seed: number,
): { train: Uint32Array; held: Uint32Array } {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  new Rng(seed ^ 0x5bd1e995).shuffle(order);
  const k = Math.max(1, Math.min(n - 1, Math.round(n * fraction)));
  return { held: order.slice(0, k).sort(), train: order.slice(k).sort() };
}

/** Class weights of a binary task: explicit, or `balanced` as n / (2 * count of the class). */
export type ClassWeight = 'balanced' | { readonly 0: number; readonly 1: number };

/** Per-row sample weights from class weights (all ones when none). */
export function sampleWeights(y: Float64Array, classWeight: ClassWeight | undefined): Float64Array {
  const w = new Float64Array(y.length).fill(1);
  if (!classWeight) return w;
  let positives = 0;
  for (let i = 0; i < y.length; i++) positives += y[i];
  const [w0, w1] =
    classWeight === 'balanced'
      ? [y.length / (2 * Math.max(1, y.length - positives)), y.length / (2 * Math.max(1, positives))]
      : [classWeight[0], classWeight[1]];
  for (let i = 0; i < y.length; i++) w[i] = y[i] === 1 ? w1 : w0;
  return w;
}
