/**
 * @module ml/categorical-split
 * Set splits of a categorical feature, as LightGBM makes them: the node's categories are sorted
 * by their gradient-to-hessian ratio, and the best prefix of that order goes left. For squared
 * and log loss this finds the best two-way partition without trying all 2^k subsets.
 */
import type { HistogramLayout, Split, SplitLimits } from './histogram.js';

/** Smoothing added to each category's hessian when ordering, so rare categories do not jump ahead. */
const ORDER_SMOOTHING = 10;

/**
 * Tries the set splits of categorical feature `f`, missing values on either side, and updates
 * `best` when one beats `bestGain`; returns the new best gain.
 */
export function categoricalSplit(
  hist: Float64Array,
  layout: HistogramLayout,
  f: number,
  totalG: number,
  totalH: number,
  totalCount: number,
  limits: SplitLimits,
  bestGain: number,
  best: Split,
): number {
  const { stride } = layout;
  const counted = stride === 3;
  const nb = layout.binCounts[f];
  const base = layout.offsets[f] * stride;
  const present = sortPresent(hist, base, stride, nb);
  if (present < 2) return bestGain;
  const m = base + nb * stride;
  const mg = hist[m];
  const mh = hist[m + 1];
  const mc = counted ? hist[m + 2] : mh > 0 ? 1 : 0;
  const parentScore = (totalG * totalG) / (totalH + limits.l2);
  let g = 0;
  let h = 0;
  let c = 0;
  let bestK = -1;
  for (let k = 0; k < present - 1; k++) {
    const s = base + ORDER[k] * stride;
    g += hist[s];
    h += hist[s + 1];
    if (counted) c += hist[s + 2];
    for (let side = 0; side < (mc === 0 ? 1 : 2); side++) {
      const lg = side === 1 ? g + mg : g;
      const lh = side === 1 ? h + mh : h;
      const rh = totalH - lh;
      if (lh < limits.minChildWeight || rh < limits.minChildWeight) continue;
      if (counted) {
        const lc = side === 1 ? c + mc : c;
        if (lc < limits.minSamplesLeaf || totalCount - lc < limits.minSamplesLeaf) continue;
      }
      const rg = totalG - lg;
      const gain = (lg * lg) / (lh + limits.l2) + (rg * rg) / (rh + limits.l2) - parentScore;
      if (gain > bestGain) {
        bestGain = gain;
        best.gain = gain;
        best.feature = f;
        best.bin = -1;
        best.missingLeft = side === 1 || (mc === 0 && lh >= rh);
        best.leftG = lg;
        best.leftH = lh;
        bestK = k;
      }
    }
  }
  // The set is built once, for the feature's best prefix, not at every improvement.
  if (bestK >= 0) best.leftBins = Array.from(ORDER.subarray(0, bestK + 1)).sort((a, b) => a - b);
  return bestGain;
}

// Scratch for `sortPresent`, shared by every call: the split search is synchronous and never
// re-entered, and an order array (plus sort closures) per node and categorical feature made
// ~200k short-lived arrays in a 200-round adult training. maxBins <= 255.
const ORDER = new Int32Array(256);
const RATIO = new Float64Array(256);

/**
 * Puts the categories present at the node (hessian > 0) into `ORDER` by ascending smoothed
 * gradient-to-hessian ratio, ties in category order (a stable insertion sort: there are at most
 * maxBins, usually a few dozen); returns how many there are.
 */
function sortPresent(hist: Float64Array, base: number, stride: number, nb: number): number {
  let count = 0;
  for (let b = 0; b < nb; b++) {
    const s = base + b * stride;
    if (!(hist[s + 1] > 0)) continue;
    const r = hist[s] / (hist[s + 1] + ORDER_SMOOTHING);
    let k = count++;
    for (; k > 0 && RATIO[k - 1] > r; k--) {
      RATIO[k] = RATIO[k - 1];
      ORDER[k] = ORDER[k - 1];
    }
    RATIO[k] = r;
    ORDER[k] = b;
  }
  return count;
}
