/**
 * @module monitoring/stats/counts
 * How the frequency-based tests see two samples, as Evidently's `get_binned_data` builds it:
 * numeric samples whose reference has more than 20 distinct values are cut into Sturges bins over
 * reference ∪ current (`np.histogram_bin_edges(..., bins="sturges")`, then `np.histogram`);
 * anything else counts each distinct value of reference ∪ current.
 */

/** A sample without missing values: sorted numbers, or category labels. */
export type Values = Float64Array | readonly string[];

export interface PairedCounts {
  /** One entry per bucket (bin or category), in the same order for both samples. */
  reference: Float64Array;
  current: Float64Array;
}

/** Distinct values of a sorted array (stops counting at `cap`). */
export function distinctSorted(values: Float64Array, cap = Number.POSITIVE_INFINITY): number {
  let count = 0;
  for (let i = 0; i < values.length && count < cap; i++) if (i === 0 || values[i] !== values[i - 1]) count++;
  return count;
}

/** Distinct values of reference ∪ current, both sorted (stops counting at `cap`). */
export function distinctSortedUnion(
  a: Float64Array,
  b: Float64Array,
  cap = Number.POSITIVE_INFINITY,
): number {
  let i = 0;
  let j = 0;
  let count = 0;
  while ((i < a.length || j < b.length) && count < cap) {
    const v = j >= b.length || (i < a.length && a[i] <= b[j]) ? a[i] : b[j];
    while (i < a.length && a[i] <= v) i++;
    while (j < b.length && b[j] <= v) j++;
    count++;
  }
  return count;
}

/**
 * numpy's Sturges bin edges for the values of two sorted samples taken together: equal-width bins
 * over [min, max] (widened by 0.5 each side when constant), ceil(range / (range / (log2 n + 1))).
 */
export function sturgesEdges(a: Float64Array, b: Float64Array): Float64Array {
  const n = a.length + b.length;
  const lo = Math.min(a.length ? a[0] : Number.POSITIVE_INFINITY, b.length ? b[0] : Number.POSITIVE_INFINITY);
  const hi = Math.max(
    a.length ? a[a.length - 1] : Number.NEGATIVE_INFINITY,
    b.length ? b[b.length - 1] : Number.NEGATIVE_INFINITY,
  );
  const [first, last] = lo === hi ? [lo - 0.5, hi + 0.5] : [lo, hi];
  const width = (hi - lo) / (Math.log2(n) + 1);
  const bins = width ? Math.ceil((last - first) / width) : 1;
  const step = (last - first) / bins;
  const edges = new Float64Array(bins + 1);
  for (let i = 0; i < bins; i++) edges[i] = i * step + first;
  edges[bins] = last;
  return edges;
}

/** np.histogram over given edges: [e_i, e_i+1) per bin, the last bin closed on the right. */
export function histogram(sorted: Float64Array, edges: Float64Array): Float64Array {
  const bins = edges.length - 1;
  const counts = new Float64Array(bins);
  let bin = 0;
  for (let i = 0; i < sorted.length; i++) {
    const x = sorted[i];
    if (x < edges[0] || x > edges[bins]) continue;
    while (bin < bins - 1 && x >= edges[bin + 1]) bin++;
    counts[bin]++;
  }
  return counts;
}

function countLabels(values: Values, index: Map<string | number, number>, out: Float64Array): void {
  for (let i = 0; i < values.length; i++) out[index.get(values[i]) as number]++;
}

/** Counts per distinct value of reference ∪ current (pandas `value_counts` over the union's keys). */
export function categoryCounts(reference: Values, current: Values): PairedCounts {
  const index = new Map<string | number, number>();
  for (const values of [reference, current]) {
    for (let i = 0; i < values.length; i++) if (!index.has(values[i])) index.set(values[i], index.size);
  }
  const counts = { reference: new Float64Array(index.size), current: new Float64Array(index.size) };
  countLabels(reference, index, counts.reference);
  countLabels(current, index, counts.current);
  return counts;
}

/** Evidently's buckets for PSI and Jensen-Shannon (see the module comment). */
export function binnedCounts(reference: Values, current: Values): PairedCounts {
  if (reference instanceof Float64Array && current instanceof Float64Array) {
    if (distinctSorted(reference, 21) > 20) {
      const edges = sturgesEdges(reference, current);
      return { reference: histogram(reference, edges), current: histogram(current, edges) };
    }
  }
  return categoryCounts(reference, current);
}
