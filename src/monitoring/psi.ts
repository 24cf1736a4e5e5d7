/**
 * @module monitoring/psi
 * The population stability index as the seed system computes it, which is not Evidently's PSI
 * (`stats/frequency.ts`, Sturges bins over both samples): ten bins cut at the reference's deciles,
 * both sides' shares clipped below at 0.001, and PSI = Σ (a − e) · ln(a / e) over the bins, with
 * e the reference's share and a the current one.
 *
 * - Deciles are numpy's `percentile(reference, [10, 20, ..., 90])` (linear interpolation).
 * - A value goes to the first bin whose upper breakpoint it does not exceed: bin i holds
 *   (b[i-1], b[i]], bin 0 everything ≤ b[0] and bin 9 everything > b[8]
 *   (numpy `searchsorted(b, x, side='left')`). So a current value beyond the reference's range
 *   still counts, in the first or last bin.
 * - Tied breakpoints (a feature that is 0 in 60% of rows) leave empty bins on both sides, whose
 *   clipped shares (0.001 against 0.001) add exactly 0.
 * - Missing values (NaN) are left out of both sides' shares; the missing share is its own check.
 * - A category column has one bin per reference category plus one for any other value.
 */

/** Both sides' shares are clipped below at this value before the logarithm. */
export const PSI_SHARE_FLOOR = 0.001;
/** Decile breakpoints: 10% to 90%. */
const DECILES = [10, 20, 30, 40, 50, 60, 70, 80, 90];

/** numpy's `percentile(values, q)` (linear interpolation) of sorted, NaN-free values. */
export function percentileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const position = (q / 100) * (n - 1);
  const lo = Math.floor(position);
  const hi = Math.min(lo + 1, n - 1);
  const fraction = position - lo;
  return sorted[lo] + (sorted[hi] - sorted[lo]) * fraction;
}

/** The nine decile breakpoints of sorted, NaN-free values (empty input: none). */
export function decileBreakpoints(sorted: ArrayLike<number>): number[] {
  return sorted.length === 0 ? [] : DECILES.map((q) => percentileSorted(sorted, q));
}

/** The bin of `x` among ascending breakpoints: how many of them are below it. */
export function binOf(breakpoints: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = breakpoints.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (breakpoints[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Counts the present values per bin (`breakpoints.length + 1` bins) and the missing ones.
 * The hot loop of a monitor run: one pass, no allocation per value.
 */
export function binCounts(
  values: ArrayLike<number>,
  breakpoints: ArrayLike<number>,
): { counts: Float64Array; missing: number } {
  const counts = new Float64Array(breakpoints.length + 1);
  let missing = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (Number.isNaN(x)) missing++;
    else counts[binOf(breakpoints, x)]++;
  }
  return { counts, missing };
}

/** Shares of a total (0 when the total is 0). */
export function sharesOf(counts: ArrayLike<number>): number[] {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  return Array.from(counts, (c) => (total === 0 ? 0 : c / total));
}

/**
 * PSI of `actual` shares against `expected` ones (the reference), each clipped at 0.001.
 * @throws RangeError when the two have different bin counts.
 */
export function psiOfShares(expected: ArrayLike<number>, actual: ArrayLike<number>): number {
  if (expected.length !== actual.length)
    throw new RangeError(`PSI needs the same bins on both sides (${expected.length} and ${actual.length})`);
  let sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i], PSI_SHARE_FLOOR);
    const a = Math.max(actual[i], PSI_SHARE_FLOOR);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

/** PSI of a current sample against a reference sample, both numeric (NaN = missing). */
export function seedPsi(reference: ArrayLike<number>, current: ArrayLike<number>): number {
  const present = Float64Array.from(reference).filter((x) => !Number.isNaN(x));
  const breakpoints = decileBreakpoints(present.sort());
  return psiOfShares(
    sharesOf(binCounts(reference, breakpoints).counts),
    sharesOf(binCounts(current, breakpoints).counts),
  );
}
