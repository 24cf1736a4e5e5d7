/**
 * @module ml/histogram
 * Gradient histograms and split search for the boosted trees. A histogram holds, per feature and
 * bin, the sums of gradient and hessian, plus the row count when `min_samples_leaf` needs it, as
 * consecutive float64 slots (`stride` 3 or 2: the count is a third of the loop's work); features
 * are packed back to back (`offsets`), each with its value bins and then its missing bin, so a
 * histogram is only as long as the data's bins. A node's sibling histogram comes from subtracting
 * it from the parent's (`KernelMemory.subtract`), so only the smaller child of a split is ever
 * built from rows.
 */
import { categoricalSplit } from './categorical-split.js';
import { fillSkippedBins, type SlotRows } from './slot-rows.js';
import type { KernelMemory } from './wasm/kernels.js';

/** Where each feature's bins start in a histogram (in bins, not slots), and how many it has. */
export interface HistogramLayout {
  /** Value bins per feature; the missing bin is the one after them. */
  binCounts: Int32Array;
  /** First bin of each feature; `offsets[nFeatures]` is the total. */
  offsets: Int32Array;
  /** Float64 slots per bin: 3 with row counts, 2 without. */
  stride: 2 | 3;
  /** 1 for a categorical feature: its bins are categories, split by set rather than order. */
  categorical: Uint8Array;
}

/** The layout for these bin counts; `withCounts` keeps a row count per bin. */
export function histogramLayout(
  binCounts: Int32Array,
  withCounts: boolean,
  categorical?: Uint8Array,
): HistogramLayout {
  const offsets = new Int32Array(binCounts.length + 1);
  for (let f = 0; f < binCounts.length; f++) offsets[f + 1] = offsets[f] + binCounts[f] + 1;
  return {
    binCounts,
    offsets,
    stride: withCounts ? 3 : 2,
    categorical: categorical ?? new Uint8Array(binCounts.length),
  };
}

/**
 * Fills `hist` (zeroed) with the rows `index[start..end)`, whose gradient and hessian sums are
 * `totalG` and `totalH`; `gh` holds each row's gradient and hessian interleaved. The kernel adds
 * the kept cells of `rows`, every feature even under column sampling (indexing through a feature
 * list made each cell ~1.7x slower, more than the skipped features save); then, for sparse rows,
 * the bins left out are filled from the totals. Every array is a view of `memory`.
 */
export function buildHistogram(
  memory: KernelMemory,
  hist: Float64Array,
  layout: HistogramLayout,
  rows: SlotRows,
  index: Uint32Array,
  start: number,
  end: number,
  gh: Float64Array,
  totalG: number,
  totalH: number,
): void {
  const counted = layout.stride === 3;
  if (rows.kind === 'dense') {
    memory.addRowsDense(hist, rows.bins, rows.features, rows.offsets, index, start, end, gh, counted);
    return;
  }
  memory.addRows(hist, rows.rowStart, rows.cells, index, start, end, gh, counted);
  fillSkippedBins(hist, layout, rows.skipped, totalG, totalH, end - start);
}

/** Limits a split must respect. */
export interface SplitLimits {
  l2: number;
  minSamplesLeaf: number;
  minChildWeight: number;
  minSplitGain: number;
}

/** The best split of a node; `feature` -1 when there is none. */
export interface Split {
  gain: number;
  feature: number;
  /** Rows whose bin is at most this go left. */
  bin: number;
  missingLeft: boolean;
  leftG: number;
  leftH: number;
  /** For a categorical split: the bins (categories) that go left; `bin` is then unused. */
  leftBins: number[] | null;
}

export const noSplit = (): Split => ({
  gain: 0,
  feature: -1,
  bin: -1,
  missingLeft: false,
  leftG: 0,
  leftH: 0,
  leftBins: null,
});

/**
 * Finds the split of largest gain (xgboost's second-order gain) over `features`, trying missing
 * values on both sides. Without missing values at the node, unseen missing values follow the
 * larger child. Without row counts (stride 2) `minSamplesLeaf` is taken as 1, and the hessian
 * floor keeps children non-empty.
 */
export function findBestSplit(
  hist: Float64Array,
  layout: HistogramLayout,
  features: Int32Array,
  totalG: number,
  totalH: number,
  totalCount: number,
  limits: SplitLimits,
): Split {
  const best = noSplit();
  const { l2, minSamplesLeaf, minChildWeight } = limits;
  const parentScore = (totalG * totalG) / (totalH + l2);
  let bestGain = limits.minSplitGain;
  const stride = layout.stride;
  const counted = stride === 3;
  for (let k = 0; k < features.length; k++) {
    const f = features[k];
    const nb = layout.binCounts[f];
    if (nb < 2) continue;
    if (layout.categorical[f]) {
      bestGain = categoricalSplit(hist, layout, f, totalG, totalH, totalCount, limits, bestGain, best);
      continue;
    }
    const base = layout.offsets[f] * stride;
    const m = base + nb * stride;
    const mg = hist[m];
    const mh = hist[m + 1];
    const mc = counted ? hist[m + 2] : mh > 0 ? 1 : 0;
    const sides = mc === 0 ? 1 : 2;
    let g = 0;
    let h = 0;
    let c = 0;
    for (let b = 0; b < nb - 1; b++) {
      const s = base + b * stride;
      g += hist[s];
      h += hist[s + 1];
      if (counted) c += hist[s + 2];
      for (let side = 0; side < sides; side++) {
        // side 0 sends missing values right, side 1 sends them left.
        const lg = side === 1 ? g + mg : g;
        const lh = side === 1 ? h + mh : h;
        const rh = totalH - lh;
        if (counted) {
          const lc = side === 1 ? c + mc : c;
          if (lc < minSamplesLeaf || totalCount - lc < minSamplesLeaf) continue;
        }
        if (lh < minChildWeight || rh < minChildWeight) continue;
        const rg = totalG - lg;
        const gain = (lg * lg) / (lh + l2) + (rg * rg) / (rh + l2) - parentScore;
        if (gain > bestGain) {
          bestGain = gain;
          best.gain = gain;
          best.feature = f;
          best.bin = b;
          best.missingLeft = side === 1 || (mc === 0 && lh >= rh);
          best.leftG = lg;
          best.leftH = lh;
          best.leftBins = null;
        }
      }
    }
  }
  return best;
}
